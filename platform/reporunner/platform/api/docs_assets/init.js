// reporunner: starts Swagger UI on the API's own OpenAPI document. A file, not an inline
// script, so that the page's Content-Security-Policy allows no inline code at all.
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi"),
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
