# Loaded by the Python that runs moto_server, because StartMoto puts this folder first on PYTHONPATH.
#
# moto's EventBridge resolves a target's input paths (its InputTransformer's, or the eight of the
# default input) with jsonpath_ng.ext.parse for every target of every matching rule of every event,
# and each parse builds a fresh PLY LALR parser: about 50 ms of CPU, under the server's one GIL. With a
# few rules matching each event, moto spent most of its time there and every other request waited
# behind it. The paths are a handful of constants and a parsed path is immutable, so each is parsed
# once. Nothing else about moto changes.
import functools
import sys

try:
    import jsonpath_ng.ext as _jsonpath_ext

    _jsonpath_ext.parse = functools.lru_cache(maxsize=1024)(_jsonpath_ext.parse)
    print("orderflow: moto parses each JSONPath once", file=sys.stderr, flush=True)
except Exception as e:  # a moto without jsonpath_ng: run it as it is
    print(f"orderflow: moto parses JSONPaths as it does by default ({e})", file=sys.stderr, flush=True)
