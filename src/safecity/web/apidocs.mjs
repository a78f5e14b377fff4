// Copies Swagger UI from the pinned npm package swagger-ui-dist into dist/apidocs, which `safecity serve`
// serves at /api/docs (no CDN: the docs page works offline and loads no third-party origin).
import { cpSync, mkdirSync } from "node:fs";

const from = "node_modules/swagger-ui-dist";
const to = "dist/apidocs";
mkdirSync(to, { recursive: true });
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"]) {
  cpSync(`${from}/${file}`, `${to}/${file}`);
}
