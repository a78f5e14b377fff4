// safecity service worker: keeps the app shell (index.html and the hashed bundles) and the field unit's
// last dispatches available offline. Requests other than GET always go to the network (the field app
// queues them itself, see src/outbox.ts).
const CACHE = "safecity-v1";
const SHELL = ["/", "/field", "/manifest.webmanifest", "/icon.svg"];
const API_CACHED = ["/api/field/", "/api/auth/me", "/api/public/ui-config"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

async function networkFirst(request, fallback) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (err) {
    const hit = (await cache.match(request)) || (fallback && (await cache.match(fallback)));
    if (hit) return hit;
    throw err;
  }
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/")) {
    if (API_CACHED.some((p) => url.pathname.startsWith(p)) && !url.pathname.endsWith("/photo")) {
      event.respondWith(networkFirst(req));
    }
    return;
  }
  if (url.pathname.startsWith("/ws") || url.pathname.startsWith("/metrics")) return;
  if (req.mode === "navigate") {
    event.respondWith(networkFirst(req, "/"));
    return;
  }
  if (url.pathname.startsWith("/assets/") || SHELL.includes(url.pathname)) {
    event.respondWith(
      caches.match(req).then((hit) => hit || networkFirst(req)),
    );
  }
});
