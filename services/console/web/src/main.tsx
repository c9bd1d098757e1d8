// The operations console: sign-in, the frame (header, navigation, live region) and the pages by route.

import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { setRefusedHandler, storedKey, storeKey } from "./api";
import { href, navigate, useRoute } from "./router";
import { onStreamRefused } from "./stream";
import { Announcer } from "./ui";
import { SignIn } from "./pages/signin";
import { Live } from "./pages/live";
import { Orders } from "./pages/orders";
import { OrderPage } from "./pages/order";
import { DeadLetters } from "./pages/deadletters";
import { Inventory } from "./pages/inventory";
import { Chatbot } from "./pages/chatbot";
import { Events } from "./pages/events";

const PAGES = [
  { path: "live", title: "Live" },
  { path: "orders", title: "Orders" },
  { path: "dead-letters", title: "Dead letters" },
  { path: "inventory", title: "Inventory" },
  { path: "chatbot", title: "Chatbot" },
  { path: "events", title: "Events" },
] as const;

function App() {
  const route = useRoute();
  const [key, setKey] = useState(storedKey());
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    const refused = () => {
      storeKey(null);
      setKey(null);
      setNotice("The server refused the admin key. Sign in again.");
    };
    setRefusedHandler(refused);
    onStreamRefused(refused);
  }, []);

  const page = route.parts[0] ?? "";
  useEffect(() => {
    if (!PAGES.some((p) => p.path === page)) navigate(href("live"));
  }, [page]);
  const current = PAGES.find((p) => p.path === page);
  useEffect(() => {
    const sub = page === "orders" && route.parts[1] ? "Order" : current?.title;
    document.title = key ? `${sub ?? "Console"} · orderflow console` : "Sign in · orderflow console";
  }, [key, page, route.parts[1]]);

  if (!key) {
    return (
      <>
        <SignIn
          notice={notice}
          onSignedIn={(k) => {
            storeKey(k);
            setNotice(null);
            setKey(k);
          }}
        />
        <Announcer />
      </>
    );
  }

  const signOut = () => {
    storeKey(null);
    setNotice("Signed out.");
    setKey(null);
  };

  let body;
  switch (page) {
    case "orders":
      body = route.parts[1] ? <OrderPage key={route.parts[1]} id={route.parts[1]} /> : <Orders query={route.query} />;
      break;
    case "dead-letters":
      body = <DeadLetters />;
      break;
    case "inventory":
      body = <Inventory />;
      break;
    case "chatbot":
      body = <Chatbot />;
      break;
    case "events":
      body = <Events />;
      break;
    default:
      body = <Live />;
  }

  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById("main")?.focus();
        }}
      >
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href("live")}>
          orderflow <span>console</span>
        </a>
        <nav aria-label="Console">
          <ul>
            {PAGES.map((p) => (
              <li key={p.path}>
                <a href={href(p.path)} aria-current={p.path === page ? "page" : undefined}>
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button type="button" class="secondary signout" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1} key={route.parts.join("/")}>
        {body}
      </main>
      <Announcer />
    </>
  );
}

render(<App />, document.getElementById("app")!);
