// The one HTTP client: same-origin cookies, the CSRF header on every state-changing request, and errors
// that carry the API's own reason (FastAPI `detail`) so screens can show it.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let onUnauthorized: (() => void) | null = null;

/** Called on any 401 outside the login call (session expired or revoked). */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export function cookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === name) return decodeURIComponent(v.join("="));
  }
  return null;
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function qs(params?: Query): string {
  if (!params) return "";
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") sp.set(k, String(v));
  }
  const s = sp.toString();
  return s ? `?${s}` : "";
}

type Detail = string | { msg?: string; loc?: (string | number)[] }[] | { message?: string } | undefined;

function describe(detail: Detail, fallback: string): string {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => {
        const loc = (d.loc ?? []).filter((p) => p !== "body").join(".");
        return loc ? `${loc}: ${d.msg ?? "invalid"}` : (d.msg ?? "invalid");
      })
      .join("; ");
  }
  if (detail && typeof detail === "object" && "message" in detail && detail.message) return detail.message;
  return fallback;
}

async function errorFrom(res: Response): Promise<ApiError> {
  let message = `${res.status} ${res.statusText || "error"}`;
  try {
    const text = await res.text();
    try {
      const body = JSON.parse(text) as { detail?: Detail; error?: string };
      message = describe(body.detail, body.error ?? message);
    } catch {
      if (text && text.length < 300) message = text;
    }
  } catch {
    /* keep the status line */
  }
  if (res.status === 429) {
    const retry = res.headers.get("Retry-After");
    if (retry && !message.includes(`${retry} s`)) message += ` (retry in ${retry} s)`;
  }
  return new ApiError(res.status, message);
}

export async function request<T>(method: string, path: string, body?: unknown, extraHeaders?: Record<string, string>): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...(extraHeaders ?? {}) };
  let payload: BodyInit | undefined;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (method !== "GET" && method !== "HEAD") {
    const token = cookie("safecity_csrf");
    if (token) headers["X-CSRF-Token"] = token;
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  } catch (err) {
    throw new ApiError(0, `network error: ${(err as Error).message || "the server cannot be reached"}`);
  }
  if (!res.ok) {
    const err = await errorFrom(res);
    if (res.status === 401 && !path.startsWith("/api/auth/") && onUnauthorized) onUnauthorized();
    throw err;
  }
  if (res.status === 204) return undefined as T;
  const type = res.headers.get("Content-Type") ?? "";
  return (type.includes("json") ? await res.json() : await res.text()) as T;
}

export const get = <T>(path: string, params?: Query) => request<T>("GET", path + qs(params));
export const post = <T>(path: string, body?: unknown) => request<T>("POST", path, body ?? {});
export const patch = <T>(path: string, body: unknown) => request<T>("PATCH", path, body);
export const put = <T>(path: string, body: unknown) => request<T>("PUT", path, body);
export const del = <T>(path: string) => request<T>("DELETE", path);

/** Lists come back either bare or as {items, total}; screens take both. */
export function items<T>(data: T[] | { items: T[] } | null | undefined): T[] {
  if (!data) return [];
  return Array.isArray(data) ? data : (data.items ?? []);
}

export function mediaUrl(key: string | null | undefined): string | null {
  if (!key) return null;
  if (key.startsWith("/") || key.startsWith("http")) return key;
  return `/api/media/${key.split("/").map(encodeURIComponent).join("/")}`;
}
