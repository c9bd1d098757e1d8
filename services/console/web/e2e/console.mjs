// The console's browser test: Chromium (the system's, driven by playwright-core) against a running
// orderflow. services/console/browser_test.go starts the server and a webhook endpoint and runs this
// script with:
//   BASE_URL        the server, e.g. http://127.0.0.1:41234
//   ADMIN_KEY       an admin key; CLIENT_KEY a client key
//   HOOK_URL        the webhook endpoint: it answers 503 until it gets POST /heal
//   CHROMIUM        the browser binary
//   SCREENSHOT_DIR  where every page's screenshot goes
// It exits non-zero with the failed step's error. Every check waits for the page to reach a state (a
// locator's waitFor, or polling); nothing sleeps for a fixed time to make a check pass.

import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const BASE_URL = env("BASE_URL");
const ADMIN_KEY = env("ADMIN_KEY");
const CLIENT_KEY = env("CLIENT_KEY");
const HOOK_URL = env("HOOK_URL");
const SHOTS = env("SCREENSHOT_DIR");
const TIMEOUT = 15000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

// ---- helpers

const started = Date.now();
async function step(name, fn) {
  const t = Date.now();
  try {
    await fn();
  } catch (err) {
    err.message = `step "${name}": ${err.message}`;
    throw err;
  }
  console.log(`ok   ${name} (${Date.now() - t} ms)`);
}

/** until polls f until it returns a truthy value, and returns it. */
async function until(what, f, timeout = TIMEOUT) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await f();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** seeText waits until locator has an element whose text matches re. */
async function seeText(locator, re, timeout = TIMEOUT) {
  await locator.filter({ hasText: re }).first().waitFor({ timeout });
}

/** shot saves the whole page as <name>.png and its first screen as <name>.screen.png (for docs/). */
async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  await page.screenshot({ path: join(SHOTS, `${name}.screen.png`) });
}

async function api(path, { key = ADMIN_KEY, method = "GET", body } = {}) {
  const res = await fetch(BASE_URL + path, {
    method,
    headers: { "X-API-Key": key, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

function orderBody(customerId, extra = {}) {
  // The README's example order.
  return {
    customerId,
    items: [{ productId: "LAPTOP001", name: "Gaming Laptop", quantity: 1, price: 1299.99 }],
    totalAmount: 1299.99,
    customerEmail: "customer@example.com",
    customerPhone: "+31629408162",
    shippingAddress: { street: "123 Main St", city: "Anytown", state: "CA", zipCode: "12345", country: "USA" },
    ...extra,
  };
}

const placeOrder = (customerId, extra) => api("/orders", { key: CLIENT_KEY, method: "POST", body: orderBody(customerId, extra) });

async function signIn(page, key) {
  await page.getByLabel("Admin API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
}

const heading = (page, name) => page.getByRole("heading", { level: 1, name });
const nav = (page, name) => page.getByRole("navigation", { name: "Console" }).getByRole("link", { name, exact: true });
const announcer = (page) => page.getByTestId("announcer");

// ---- the test

await mkdir(SHOTS, { recursive: true });
const browser = await chromium.launch({
  executablePath: env("CHROMIUM"),
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
const problems = [];
const watch = (page, label) => {
  page.on("pageerror", (e) => problems.push(`${label}: uncaught ${e.message}`));
  page.on("console", (m) => {
    // A refused request is logged by the browser; the page shows it, so it is not a problem. Everything
    // else, and a Content-Security-Policy violation above all, is.
    if (m.type() === "error" && !/Failed to load resource: the server responded with a status of (403|409|412)/.test(m.text())) {
      problems.push(`${label}: console error: ${m.text()}`);
    }
  });
};

try {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  watch(page, "page");
  const liveRequests = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith("/admin/live")) liveRequests.push(u.pathname);
    assert.ok(!r.url().includes(ADMIN_KEY), `the admin key appeared in a URL: ${r.url()}`);
  });

  await step("sign in: a wrong key and a client key are refused, the admin key is taken", async () => {
    await page.goto(BASE_URL + "/");
    await heading(page, /orderflow console/).waitFor();
    await signIn(page, "of_not-a-key");
    await seeText(page.getByRole("alert"), /Refused/);
    await shot(page, "signin-refused");
    await signIn(page, CLIENT_KEY);
    await seeText(page.getByRole("alert"), /Refused/);
    await signIn(page, ADMIN_KEY);
    await heading(page, "Live").waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("orderflow.adminKey")), ADMIN_KEY);
    assert.ok(!page.url().includes(ADMIN_KEY));
  });

  const orders = [];
  await step("live: five orders placed through the API reach COMPLETED on the live page, from the stream", async () => {
    await seeText(page.getByTestId("stream-state"), /^Live/);
    await seeText(page.getByTestId("count-COMPLETED"), /^0$/);
    const before = liveRequests.length;
    for (let i = 0; i < 5; i++) orders.push(await placeOrder("customer123"));
    await seeText(page.getByTestId("count-COMPLETED"), /^5$/);
    await seeText(page.getByRole("list", { name: "Latest events" }).getByRole("listitem"), /OrderCompleted/);
    assert.equal(await page.locator("figure.chart canvas").count(), 2, "two charts");
    // Every OrderCompleted goes to the dead webhook endpoint: after two attempts each, five dead letters.
    await seeText(page.getByTestId("count-dead-letters"), /^5$/);
    // Live means the stream: the page asked for nothing under /admin/live since it opened it.
    assert.deepEqual(liveRequests.slice(before), [], "the live page polled");
    assert.ok(liveRequests.filter((p) => p === "/admin/live/stream").length >= 1, "no stream was opened");
    await page.getByText(/In the last minute: 5 created, 5 completed/).waitFor();
    await shot(page, "live");
    await page.setViewportSize(PHONE);
    await shot(page, "live-phone");
    await page.setViewportSize(DESKTOP);
  });

  await step("keyboard: the navigation is reachable and usable with the keyboard alone", async () => {
    // A fresh load (the key stays in the tab's session storage): the first Tab reaches the skip link.
    await page.reload();
    await heading(page, "Live").waitFor();
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press("Tab");
      if ((await page.evaluate(() => document.activeElement?.textContent)) === "Orders") break;
    }
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Orders");
    await page.keyboard.press("Enter");
    await heading(page, "Orders").waitFor();
    await until("the new page's heading to have the focus", () => page.evaluate(() => document.activeElement?.tagName === "H1"));
  });

  await step("orders: find by customer and by reference", async () => {
    await page.getByLabel("Customer, order id or reference").fill("customer123");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("heading", { name: /Orders of customer customer123/ }).waitFor();
    const rows = page.getByRole("region", { name: /Orders of customer customer123/ }).getByRole("row");
    await until("5 orders listed", async () => (await rows.count()) === 6);
    // Newest first.
    assert.match(await rows.nth(1).innerText(), new RegExp(orders[4].reference));
    await page.getByLabel("Status").selectOption("COMPLETED");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("heading", { name: /customer123 in COMPLETED/ }).waitFor();
    await shot(page, "orders");
    await page.getByLabel("Customer, order id or reference").fill(orders[0].reference.toLowerCase().replace("-", ""));
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("heading", { name: `Order with reference ${orders[0].reference}` }).waitFor();
    await until("one order listed", async () => (await page.getByRole("table").getByRole("row").count()) === 2);
  });

  await step("order: the timeline lists every status from PENDING to COMPLETED, with the events and texts", async () => {
    await page.getByRole("link", { name: orders[0].reference }).click();
    await heading(page, new RegExp(`Order ${orders[0].reference}`)).waitFor();
    const timeline = page.getByRole("list", { name: "Status history" }).getByRole("listitem");
    await until("six statuses", async () => (await timeline.count()) === 6);
    const statuses = await timeline.locator(".status").allInnerTexts();
    assert.deepEqual(statuses, ["PENDING", "VALIDATING", "INVENTORY_CHECK", "PAYMENT_PROCESSING", "FULFILLMENT", "COMPLETED"]);
    assert.match(await timeline.nth(0).innerText(), /\d+(\.\d)? (ms|s)/, "time spent in PENDING");
    assert.match(await timeline.nth(5).innerText(), /final/);
    const events = page.getByRole("region", { name: "Events published" }).getByRole("listitem");
    await until("five events", async () => (await events.count()) === 5);
    const types = (await events.locator("summary strong").allInnerTexts()).join(",");
    assert.equal(types, "OrderCreated,OrderValidated,InventoryReserved,PaymentAuthorized,OrderCompleted");
    await events.nth(0).locator("summary").click();
    await seeText(events.nth(0).getByRole("region", { name: "Envelope of OrderCreated" }), /"detail-type": "OrderCreated"/);
    const texts = page.getByRole("region", { name: "Texts sent" }).getByRole("listitem");
    await until("two texts", async () => (await texts.count()) === 2);
    await seeText(texts, /Order Created!/);
    await seeText(texts, /Order Completed!/);
    await page.getByRole("heading", { name: "Shipment" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Cancel order" }).count(), 0, "a completed order has no cancel button");
    await shot(page, "order");
    await page.setViewportSize(PHONE);
    await shot(page, "order-phone");
    await page.setViewportSize(DESKTOP);
  });

  let stuck;
  await step("cancel: an order stuck in PAYMENT_PROCESSING is cancelled from its page", async () => {
    // tok_flaky fails twice before it approves; with two attempts per message the payment's message is
    // dead-lettered and the order waits in PAYMENT_PROCESSING, cancellable.
    stuck = await placeOrder("customer456", { paymentToken: "tok_flaky" });
    await until("the payment dead-lettered", async () => {
      const d = await api("/admin/dead-letters?limit=100");
      return d.deadLetters.some((x) => x.orderId === stuck.orderId);
    });
    assert.equal((await api(`/orders/${stuck.orderId}`)).status, "PAYMENT_PROCESSING");
    await nav(page, "Orders").click();
    await heading(page, "Orders").waitFor();
    await page.getByLabel("Customer, order id or reference").fill(stuck.orderId);
    await page.getByRole("button", { name: "Search" }).click();
    await heading(page, new RegExp(`Order ${stuck.reference}`)).waitFor();
    await seeText(heading(page, /Order/), /PAYMENT_PROCESSING/);
    await page.getByRole("button", { name: "Cancel order" }).click();
    await page.getByRole("button", { name: "Yes, cancel it" }).click();
    await seeText(announcer(page), /cancelled/);
    await seeText(heading(page, /Order/), /CANCELLED/);
    assert.equal(await page.getByRole("button", { name: "Cancel order" }).count(), 0);
    const timeline = page.getByRole("list", { name: "Status history" }).getByRole("listitem");
    await seeText(timeline.last(), /CANCELLED/);
    assert.equal((await api(`/orders/${stuck.orderId}`)).status, "CANCELLED");
    await shot(page, "order-cancelled");
  });

  await step("dead letters: listed with target, error, attempts and age; redrive one, then all", async () => {
    await nav(page, "Dead letters").click();
    await heading(page, "Dead letters").waitFor();
    const rows = page.getByRole("region", { name: "Dead letters" }).getByRole("row");
    await until("six dead letters", async () => (await rows.count()) === 7);
    const hook = rows.filter({ hasText: "webhook:analytics" });
    assert.equal(await hook.count(), 5);
    assert.match(await hook.first().innerText(), /503/);
    assert.match(await hook.first().innerText(), /\b2\b/);
    assert.match(await hook.first().innerText(), /ago|now/);
    await seeText(rows, /payment-authorize|payment/);
    await shot(page, "dead-letters");
    // Heal the endpoint, then redrive one, then the rest.
    await fetch(HOOK_URL + "/heal", { method: "POST" }).then((r) => assert.equal(r.status, 200));
    const first = await hook.first().getByRole("rowheader").innerText();
    await page.getByRole("button", { name: `Redrive dead letter ${first}` }).click();
    await seeText(announcer(page), new RegExp(`Dead letter ${first}: 1 sent back`));
    await until("five dead letters left", async () => (await rows.count()) === 6);
    await page.getByRole("button", { name: /Redrive all/ }).click();
    await page.getByTestId("no-dead-letters").waitFor();
    await until("no dead letter on the server", async () => (await api("/admin/dead-letters")).total === 0);
    await shot(page, "dead-letters-empty");
  });

  await step("inventory: an edit saves; an edit from a stale page gets the 412 and what changed", async () => {
    // The second tab opens the product for editing first, so that its version is older than the save below.
    const stale = await context.newPage();
    watch(stale, "stale page");
    await stale.goto(BASE_URL + "/#/inventory");
    await signIn(stale, ADMIN_KEY);
    await heading(stale, "Inventory").waitFor();
    await stale.getByRole("button", { name: "Edit MOUSE001" }).click();
    const staleInput = stale.getByLabel("Available of MOUSE001");
    await staleInput.waitFor();

    await page.bringToFront();
    await nav(page, "Inventory").click();
    await heading(page, "Inventory").waitFor();
    await page.getByRole("button", { name: "Edit MOUSE001" }).click();
    await page.getByLabel("Available of MOUSE001").fill("12345");
    await page.getByRole("button", { name: "Save MOUSE001" }).click();
    await seeText(announcer(page), /Saved MOUSE001/);
    await seeText(page.getByTestId("available-MOUSE001"), /^12,?345$/);

    await stale.bringToFront();
    await staleInput.fill("999");
    await stale.getByRole("button", { name: "Save MOUSE001" }).click();
    const conflict = stale.getByRole("alert").filter({ hasText: /MOUSE001 changed/ });
    await conflict.waitFor();
    const row = conflict.getByRole("row", { name: /Available/ });
    assert.match(await row.innerText(), /100000\s+999\s+12345/);
    await shot(stale, "inventory-conflict");
    await stale.getByRole("button", { name: "Save my values over the new version" }).click();
    await seeText(stale.getByTestId("available-MOUSE001"), /^999$/);
    assert.equal((await api("/inventory/MOUSE001")).available, 999);
    await stale.close();
  });

  await step("inventory: add a product; adding it again is refused", async () => {
    await page.bringToFront();
    await page.getByLabel("Product id").fill("PEN001");
    await page.getByLabel("Name", { exact: true }).fill("Fountain Pen");
    await page.getByLabel("Price", { exact: true }).fill("24.50");
    await page.getByLabel("Available", { exact: true }).fill("40");
    await page.getByRole("button", { name: "Add product" }).click();
    await seeText(announcer(page), /Added PEN001/);
    await page.getByRole("button", { name: "Edit PEN001" }).waitFor();
    assert.equal((await api("/inventory/PEN001")).price, 24.5);
    await page.getByLabel("Product id").fill("PEN001");
    await page.getByLabel("Name", { exact: true }).fill("Another Pen");
    await page.getByLabel("Price", { exact: true }).fill("1");
    await page.getByLabel("Available", { exact: true }).fill("1");
    await page.getByRole("button", { name: "Add product" }).click();
    await seeText(page.getByRole("alert"), /already exists/);
    assert.equal((await api("/inventory/PEN001")).name, "Fountain Pen");
    await shot(page, "inventory");
  });

  await step("chatbot: ask as a customer; see the answer, its source and the tool calls", async () => {
    await nav(page, "Chatbot").click();
    await heading(page, "Chatbot").waitFor();
    await page.getByLabel("Customer id").fill("customer123");
    await page.getByLabel("Question").fill("Where is my order?");
    await page.getByRole("button", { name: "Ask" }).click();
    const answer = page.getByTestId("answer-text");
    await answer.waitFor();
    assert.ok((await answer.innerText()).length > 10, "an answer");
    assert.match(await page.getByTestId("answer-source").innerText(), /fallback|model/);
    const calls = page.getByRole("list", { name: "Tool calls" }).getByRole("listitem");
    await until("a tool call", async () => (await calls.count()) >= 1);
    await shot(page, "chatbot");
  });

  await step("events: every event type with its schema and example; the subscription's deliveries", async () => {
    await nav(page, "Events").click();
    await heading(page, "Events").waitFor();
    const registry = await api("/schemas");
    const types = page.getByRole("region", { name: /Event types/ }).getByRole("listitem");
    await until(`${registry.Schemas.length} event types`, async () => (await types.count()) === registry.Schemas.length);
    for (let i = 0; i < registry.Schemas.length; i++) {
      const t = types.nth(i);
      assert.equal(await t.getByText("Schema", { exact: true }).count(), 1, `schema of type ${i}`);
      assert.equal(await t.getByText("Example", { exact: true }).count(), 1, `example of type ${i}`);
    }
    await types.first().getByText("Example", { exact: true }).click();
    await seeText(types.first().getByRole("region", { name: /^Example of/ }), /"detail-type"/);
    const sub = page.getByRole("article", { name: "analytics" });
    await sub.waitFor();
    // The redriven deliveries succeeded: the newest attempts are 200s.
    await until("a successful delivery listed", async () => {
      await page.getByRole("button", { name: "Refresh deliveries" }).click();
      return (await sub.getByRole("row").filter({ hasText: /delivered 200/ }).count()) >= 5;
    });
    assert.ok(Number(await page.getByTestId("failed-analytics").innerText()) >= 10, "failed attempts counted");
    await shot(page, "events");
  });

  await step("phone width: no page scrolls sideways (wide tables scroll in their own box)", async () => {
    await page.setViewportSize(PHONE);
    // Each page with what shows it has loaded.
    const routes = {
      live: (p) => p.getByTestId("count-COMPLETED"),
      "orders?q=customer123": (p) => p.getByRole("table"),
      [`orders/${orders[0].orderId}`]: (p) => p.getByRole("list", { name: "Status history" }),
      "dead-letters": (p) => p.getByTestId("no-dead-letters"),
      inventory: (p) => p.getByRole("button", { name: "Edit CABLE001" }),
      chatbot: (p) => p.getByLabel("Question"),
      events: (p) => p.getByRole("article", { name: "analytics" }),
    };
    for (const [r, loaded] of Object.entries(routes)) {
      await page.goto(`${BASE_URL}/#/${r}`);
      await loaded(page).waitFor({ timeout: TIMEOUT });
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= PHONE.width, `#/${r} is ${width} px wide at ${PHONE.width} px`);
    }
    await page.setViewportSize(DESKTOP);
  });

  await step("sign out forgets the key", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Admin API key").waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("orderflow.adminKey")), null);
  });

  assert.deepEqual(problems, [], "errors in the pages");
  console.log(`passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} finally {
  await browser.close();
}
