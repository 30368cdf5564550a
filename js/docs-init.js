// Starts Swagger UI on /docs against this Worker's own /openapi.json. Served as a static asset
// (scripts/static-files.mjs) so the page needs no inline script and no CDN.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
});
