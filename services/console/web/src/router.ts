// Routing by the URL's hash (#/live, #/orders/<id>), because /orders and the like are API paths.

import { useEffect, useState } from "preact/hooks";

export interface Route {
  /** The path's segments: "#/orders/abc" is ["orders", "abc"]. */
  parts: string[];
  /** The query after the path: "#/orders?q=x". */
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const h = hash.replace(/^#\/?/, "");
  const q = h.indexOf("?");
  const path = q < 0 ? h : h.slice(0, q);
  const parts = path.split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { parts, query: new URLSearchParams(q < 0 ? "" : h.slice(q + 1)) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

/** href builds a hash link: href("orders", id) is "#/orders/<id>". */
export function href(...parts: string[]): string {
  return "#/" + parts.map(encodeURIComponent).join("/");
}

export function navigate(to: string): void {
  if (location.hash !== to) location.hash = to;
}
