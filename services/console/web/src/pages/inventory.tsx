import { useState } from "preact/hooks";
import { ApiError, get, message, query, request } from "../api";
import { num, price } from "../format";
import type { InventoryItem } from "../types";
import { announce, ErrorMessage, Page, TableScroll, useAsync } from "../ui";

/** The editable fields of a product, as typed. */
interface Draft {
  name: string;
  price: string;
  available: string;
}

interface Editing {
  /** The product as it was when the edit started (or when the user took the newer version). */
  base: InventoryItem;
  etag: string;
  draft: Draft;
  /** After a 412: the product as it is now, with its ETag. */
  conflict?: { current: InventoryItem; etag: string };
  error?: string;
  busy?: boolean;
}

const FIELDS: { key: keyof Draft; label: string }[] = [
  { key: "name", label: "Name" },
  { key: "price", label: "Price" },
  { key: "available", label: "Available" },
];

function draftOf(p: InventoryItem): Draft {
  return { name: p.name, price: String(p.price), available: String(p.available) };
}

/** bodyOf turns a draft into the PUT body; numbers are sent as typed, the API checks them. */
function bodyOf(d: Draft): { name: string; price: number | null; available: number | null } {
  // An empty or unreadable number goes as null, which the API refuses on the field, rather than as 0.
  const n = (s: string) => {
    const t = s.trim();
    const v = Number(t);
    return t === "" || !Number.isFinite(v) ? null : v;
  };
  return { name: d.name, price: n(d.price), available: n(d.available) };
}

async function fetchProduct(id: string): Promise<{ item: InventoryItem; etag: string }> {
  const res = await request<InventoryItem>(`/inventory/${encodeURIComponent(id)}`);
  return { item: res.body, etag: res.headers.get("ETag") ?? "" };
}

/**
 * Inventory is the catalog with its stock. A product is edited in place: Edit reads the product with its
 * ETag, Save sends it back with If-Match, and a 412 (someone, or an order reserving stock, changed it
 * meanwhile) shows what changed and lets the user save again on the newer version or drop the edit.
 * New products are sent with If-None-Match: *, so that an existing one is never overwritten.
 */
export function Inventory() {
  const list = useAsync(async (s) => {
    // The catalog comes in pages when it is larger than one response holds: read them all.
    const items: InventoryItem[] = [];
    let cursor: string | null = null;
    do {
      const path: string = "/inventory" + query({ cursor });
      const page: { items: InventoryItem[]; nextCursor?: string | null } = await get(path, s);
      items.push(...page.items);
      cursor = page.nextCursor ?? null;
    } while (cursor);
    return { items };
  }, []);
  const [editing, setEditing] = useState<Record<string, Editing>>({});
  const [rowError, setRowError] = useState<string | null>(null);

  const patch = (id: string, f: (e: Editing) => Editing | null) =>
    setEditing((all) => {
      const cur = all[id];
      if (!cur) return all;
      const next = f(cur);
      const copy = { ...all };
      if (next) copy[id] = next;
      else delete copy[id];
      return copy;
    });

  const replaceItem = (item: InventoryItem) =>
    list.setValue((v) => v && { items: v.items.map((i) => (i.productId === item.productId ? item : i)) });

  const startEdit = async (id: string) => {
    setRowError(null);
    try {
      const { item, etag } = await fetchProduct(id);
      replaceItem(item);
      setEditing((all) => ({ ...all, [id]: { base: item, etag, draft: draftOf(item) } }));
    } catch (err) {
      setRowError(`${id}: ${message(err)}`);
    }
  };

  const save = async (id: string, e: Editing, etag: string) => {
    patch(id, (x) => ({ ...x, busy: true, error: undefined }));
    try {
      const res = await request<InventoryItem>(`/inventory/${encodeURIComponent(id)}`, {
        method: "PUT",
        body: bodyOf(e.draft),
        headers: { "If-Match": etag },
      });
      replaceItem(res.body);
      patch(id, () => null);
      announce(`Saved ${id}.`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        try {
          const now = await fetchProduct(id);
          replaceItem(now.item);
          patch(id, (x) => ({ ...x, busy: false, conflict: { current: now.item, etag: now.etag } }));
          announce(`${id} changed meanwhile: not saved.`);
        } catch (err2) {
          patch(id, (x) => ({ ...x, busy: false, error: message(err2) }));
        }
        return;
      }
      patch(id, (x) => ({ ...x, busy: false, error: message(err) }));
    }
  };

  const items = list.value?.items;
  return (
    <Page title="Inventory">
      <ErrorMessage error={list.error ?? rowError} />
      {items && (
        <TableScroll label="Catalog">
          <table class="inventory">
            <caption class="sr-only">Catalog with stock</caption>
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col">Name</th>
                <th scope="col" class="num">
                  Price
                </th>
                <th scope="col" class="num">
                  Available
                </th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((p) => {
                const e = editing[p.productId];
                return e ? (
                  <EditRow key={p.productId} item={p} e={e} patch={(f) => patch(p.productId, f)} save={(etag) => save(p.productId, e, etag)} />
                ) : (
                  <tr key={p.productId}>
                    <th scope="row">
                      <code>{p.productId}</code>
                    </th>
                    <td>{p.name}</td>
                    <td class="num">{price(p.price)}</td>
                    <td class="num" data-testid={`available-${p.productId}`}>
                      {num(p.available)}
                    </td>
                    <td>
                      <button type="button" class="secondary small" aria-label={`Edit ${p.productId}`} onClick={() => startEdit(p.productId)}>
                        Edit
                      </button>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableScroll>
      )}
      <AddProduct onAdded={() => list.reload()} />
    </Page>
  );
}

function EditRow({
  item,
  e,
  patch,
  save,
}: {
  item: InventoryItem;
  e: Editing;
  patch: (f: (e: Editing) => Editing | null) => void;
  save: (etag: string) => void;
}) {
  const id = item.productId;
  const set = (k: keyof Draft, v: string) => patch((x) => ({ ...x, draft: { ...x.draft, [k]: v } }));
  const onKey = (ev: KeyboardEvent) => {
    if (ev.key === "Enter" && !e.conflict) {
      ev.preventDefault();
      save(e.etag);
    } else if (ev.key === "Escape") {
      patch(() => null);
    }
  };
  const c = e.conflict;
  const base = draftOf(e.base);
  const now = c ? draftOf(c.current) : null;
  return (
    <>
      <tr class="editing">
        <th scope="row">
          <code>{id}</code>
        </th>
        {FIELDS.map((f) => (
          <td key={f.key} class={f.key === "name" ? "" : "num"}>
            <input
              type="text"
              inputMode={f.key === "name" ? "text" : f.key === "price" ? "decimal" : "numeric"}
              aria-label={`${f.label} of ${id}`}
              value={e.draft[f.key]}
              size={f.key === "name" ? 24 : 10}
              onInput={(ev) => set(f.key, ev.currentTarget.value)}
              onKeyDown={onKey}
            />
          </td>
        ))}
        <td class="row-actions">
          {!c && (
            <button type="button" class="small" disabled={e.busy} aria-label={`Save ${id}`} onClick={() => save(e.etag)}>
              Save
            </button>
          )}
          <button type="button" class="secondary small" disabled={e.busy} aria-label={`Cancel editing ${id}`} onClick={() => patch(() => null)}>
            Cancel
          </button>
        </td>
      </tr>
      {(c || e.error) && (
        <tr class="conflict-row">
          <td colSpan={5}>
            <ErrorMessage error={e.error} />
            {c && now && (
              <div class="conflict" role="alert" aria-labelledby={`conflict-${id}`}>
                <h3 id={`conflict-${id}`}>Not saved: {id} changed since you started editing (412 Precondition Failed)</h3>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Field</th>
                      <th scope="col">When you started</th>
                      <th scope="col">Your value</th>
                      <th scope="col">Now</th>
                    </tr>
                  </thead>
                  <tbody>
                    {FIELDS.filter((f) => base[f.key] !== now[f.key] || e.draft[f.key] !== now[f.key]).map((f) => (
                      <tr key={f.key} class={base[f.key] !== now[f.key] ? "changed" : ""}>
                        <th scope="row">
                          {f.label}
                          {base[f.key] !== now[f.key] && <span class="muted"> (changed)</span>}
                        </th>
                        <td>{base[f.key]}</td>
                        <td>{e.draft[f.key]}</td>
                        <td>
                          <strong>{now[f.key]}</strong>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <div class="actions">
                  <button
                    type="button"
                    class="small"
                    disabled={e.busy}
                    onClick={() => {
                      const next = { ...e, base: c.current, etag: c.etag, conflict: undefined };
                      patch(() => next);
                      save(c.etag);
                    }}
                  >
                    Save my values over the new version
                  </button>
                  <button
                    type="button"
                    class="secondary small"
                    disabled={e.busy}
                    onClick={() => patch((x) => ({ ...x, base: c.current, etag: c.etag, draft: draftOf(c.current), conflict: undefined }))}
                  >
                    Take the new version and edit again
                  </button>
                </div>
              </div>
            )}
          </td>
        </tr>
      )}
    </>
  );
}

function AddProduct({ onAdded }: { onAdded: () => void }) {
  const empty = { productId: "", name: "", price: "", available: "" };
  const [f, setF] = useState(empty);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (ev: Event) => {
    ev.preventDefault();
    setError(null);
    const id = f.productId.trim();
    if (!id) {
      setError("Enter a product id.");
      return;
    }
    setBusy(true);
    try {
      await request<InventoryItem>(`/inventory/${encodeURIComponent(id)}`, {
        method: "PUT",
        body: bodyOf(f),
        headers: { "If-None-Match": "*" },
      });
      announce(`Added ${id}.`);
      setF(empty);
      onAdded();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 412 ? `A product with id ${id} already exists: edit it in the table instead.` : message(err));
    } finally {
      setBusy(false);
    }
  };

  const field = (k: keyof typeof empty, label: string, mode: string) => (
    <div class="field">
      <label for={`new-${k}`}>{label}</label>
      <input
        id={`new-${k}`}
        type="text"
        inputMode={mode as "text"}
        value={f[k]}
        onInput={(e) => setF({ ...f, [k]: e.currentTarget.value })}
        required
        autoComplete="off"
      />
    </div>
  );

  return (
    <section aria-labelledby="add-title">
      <h2 id="add-title">Add a product</h2>
      <form class="add-product" onSubmit={submit} noValidate>
        {field("productId", "Product id", "text")}
        {field("name", "Name", "text")}
        {field("price", "Price", "decimal")}
        {field("available", "Available", "numeric")}
        <button type="submit" disabled={busy}>
          Add product
        </button>
      </form>
      <ErrorMessage error={error} />
    </section>
  );
}
