-- `luarocks make` in plugins/kong installs the plugin from this checkout (Kong's plugin layout:
-- kong.plugins.reflex.handler and kong.plugins.reflex.schema). Then start Kong with
-- KONG_PLUGINS=bundled,reflex.
package = "kong-plugin-reflex"
version = "0.1.0-1"

-- `luarocks make` builds from the working copy and does not fetch `source`.
source = {
  url = "git+https://example.invalid/reflex.git",
  tag = "v0.1.0",
}

description = {
  summary = "Sends Kong's http-log JSON, with request and response bodies, to reflex's /ingest/kong",
  detailed = [[
    Captures bounded request bodies (access) and response bodies (body_filter) for an allow list of
    content types and posts kong.log.serialize() plus request.body / response.body to reflex
    through Kong's batch queue (kong.tools.queue), with retries and an optional bearer token.
  ]],
  license = "Apache-2.0",
}

supported_platforms = { "linux", "macosx" }

dependencies = {
  "lua >= 5.1",
}

build = {
  type = "builtin",
  modules = {
    ["kong.plugins.reflex.handler"] = "kong/plugins/reflex/handler.lua",
    ["kong.plugins.reflex.schema"] = "kong/plugins/reflex/schema.lua",
  },
}
