// The bodies of the REST API the console reads, as in contracts/ (Go) and schemas/openapi.json.

export const STATUSES = [
  "PENDING",
  "VALIDATING",
  "INVENTORY_CHECK",
  "PAYMENT_PROCESSING",
  "FULFILLMENT",
  "COMPLETED",
  "FAILED",
  "CANCELLED",
] as const;

export type Status = (typeof STATUSES)[number];

/** Statuses an order can still be cancelled in. */
export const CANCELLABLE: ReadonlySet<string> = new Set(["PENDING", "VALIDATING", "INVENTORY_CHECK", "PAYMENT_PROCESSING"]);

/** Statuses an order never leaves. */
export const FINAL: ReadonlySet<string> = new Set(["COMPLETED", "FAILED", "CANCELLED"]);

export interface OrderItem {
  productId: string;
  name: string;
  quantity: number;
  price: number;
}

export interface Address {
  street: string;
  city: string;
  state: string;
  zipCode: string;
  country: string;
}

export interface Order {
  orderId: string;
  reference?: string;
  customerId: string;
  status: string;
  items: OrderItem[];
  totalAmount: number;
  currency: string;
  customerEmail: string;
  customerPhone?: string;
  shippingAddress: Address;
  createdAt: string;
  updatedAt: string;
  history?: { status: string; at: string }[];
  shipment?: { carrier: string; trackingNumber: string; estimatedDelivery: string };
  failure?: { stage: string; code: string; reason: string };
}

export interface OrderPage {
  orders: Order[];
  nextCursor?: string | null;
}

export interface Envelope {
  version: string;
  id: string;
  "detail-type": string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface Text {
  id: string;
  orderId: string;
  to: string;
  text: string;
  sentAt: string;
}

export interface DeadLetter {
  id: number;
  target: string;
  detailType: string;
  orderId?: string;
  error: string;
  attempts: number;
  failedAt: string;
}

export interface DeadLetterList {
  deadLetters: DeadLetter[];
  total: number;
}

export interface InventoryItem {
  productId: string;
  name: string;
  price: number;
  available: number;
}

export interface LiveSecond {
  at: string;
  created: number;
  completed: number;
  failed: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
}

export interface LiveSnapshot {
  at: string;
  statuses: { status: string; count: number }[];
  failures: { stage: string; code: string; count: number }[];
  deadLetters: number;
  series: LiveSecond[];
}

export interface LiveEvent {
  id: string;
  detailType: string;
  source: string;
  orderId: string;
  reference?: string;
  time: string;
}

export interface ToolCall {
  name: string;
  input: unknown;
  output?: unknown;
  error?: string;
}

export interface ChatTrace {
  answer: string;
  sessionId: string;
  orderIds?: string[];
  source: string;
  toolCalls?: ToolCall[];
}

export interface Delivery {
  eventId: string;
  detailType: string;
  orderId?: string;
  at: string;
  statusCode: number;
  ok: boolean;
  error?: string;
  durationMs: number;
}

export interface Subscription {
  name: string;
  endpoint: string;
  eventPattern: unknown;
  delivered: number;
  failed: number;
  recent?: Delivery[];
}

export interface SchemaSummary {
  SchemaName: string;
  SchemaVersions?: { SchemaVersion: string }[];
  VersionCount: number;
  LastModified: string;
}

export interface SchemaDescription {
  SchemaName: string;
  SchemaVersion: string;
  Content: string;
  Description: string;
  Type: string;
}
