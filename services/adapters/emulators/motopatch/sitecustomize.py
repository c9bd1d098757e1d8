# Loaded by the Python that runs moto_server, because StartMoto puts this folder first on PYTHONPATH.
#
# moto's EventBridge resolves a target's input paths (its InputTransformer's, or the eight of the
# default input) with jsonpath_ng.ext.parse for every target of every matching rule of every event,
# and each parse builds a fresh PLY LALR parser: about 50 ms of CPU, under the server's one GIL. With a
# few rules matching each event, moto spent most of its time there and every other request waited
# behind it. The paths are a handful of constants and a parsed path is immutable (find builds new
# objects and changes none), so each is parsed once. Nothing else about moto changes.
#
# Python imports only the first sitecustomize on its path, so this one would hide any other: one
# further along PYTHONPATH, or the interpreter's own (Debian's, a virtualenv's, coverage's). That one
# is run first, as Python would have run it.
import functools
import importlib.machinery
import importlib.util
import os
import sys
import traceback


def _run_the_one_this_hides():
    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    try:
        spec.loader.exec_module(module)
    except Exception:  # as Python's site does: say so, and start anyway
        print(f"Error in sitecustomize {spec.origin}:", file=sys.stderr)
        traceback.print_exc()


_run_the_one_this_hides()

try:
    import jsonpath_ng.ext as _jsonpath_ext

    _jsonpath_ext.parse = functools.lru_cache(maxsize=1024)(_jsonpath_ext.parse)
    print("orderflow: moto parses each JSONPath once", file=sys.stderr, flush=True)
except Exception as e:  # a moto without jsonpath_ng: run it as it is
    print(f"orderflow: moto parses JSONPaths as it does by default ({e})", file=sys.stderr, flush=True)
