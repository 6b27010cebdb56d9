// The API client: the key lives in sessionStorage only (gone when the tab
// closes), every call is same-origin and relative to the page, so the console
// works wherever the API is mounted.

const KEY_NAME = 'hookline.apiKey';

/** An answer of the API's `{"code","detail"}` shape (or a network failure). */
export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY_NAME);
}

export function rememberKey(key) {
  sessionStorage.setItem(KEY_NAME, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_NAME);
}

let onUnauthorized = () => {};

/** Called when the API refuses the key, so the app can ask for another. */
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/** The URL of an API path such as `v1/endpoints`, relative to the page. */
export function apiUrl(path, query) {
  const url = new URL(path.replace(/^\//, ''), document.baseURI);
  url.hash = '';
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, value);
  }
  return url;
}

/** Calls the API with the stored key; resolves to the JSON answer (null for 204). */
export async function call(method, path, { body, query, key } = {}) {
  const headers = { Authorization: `Bearer ${key ?? apiKey() ?? ''}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(apiUrl(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch (e) {
    throw new ApiError(0, 'network_error', `The API could not be reached (${e.message}).`);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: a gateway error page, say. Reported below.
  }
  if (response.ok) return parsed;
  const code = parsed?.code ?? 'unexpected_response';
  const detail = parsed?.detail ?? `The API answered ${response.status} ${response.statusText}.`;
  const error = new ApiError(response.status, code, detail);
  if (response.status === 401 && key === undefined) onUnauthorized(error);
  throw error;
}

export const get = (path, query) => call('GET', path, { query });
export const post = (path, body) => call('POST', path, { body: body ?? {} });
export const patch = (path, body) => call('PATCH', path, { body });

/** Every page of a list (bounded), for small collections such as the catalog. */
export async function all(path, query = {}, pages = 20) {
  const items = [];
  let cursor;
  for (let i = 0; i < pages; i += 1) {
    const page = await get(path, { ...query, limit: 250, cursor });
    items.push(...page.data);
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return items;
}
