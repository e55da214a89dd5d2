-- Configuration of the `reflex` plugin. Kong validates it, fills the defaults and hands the
-- resulting table to every phase handler as `conf`.
local typedefs = require "kong.db.schema.typedefs"

-- What the plugin captures by default: the textual bodies reflex's rules read.
local DEFAULT_CONTENT_TYPES = {
  "application/json",
  "application/*+json",
  "application/x-www-form-urlencoded",
  "text/plain",
}

local function has_userinfo(endpoint)
  return type(endpoint) == "string" and endpoint:match("^%a[%w+.-]*://[^/?#]*@") ~= nil
end

return {
  name = "reflex",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
        type = "record",
        fields = {
          { http_endpoint = typedefs.url {
              required = true,
              default = "http://127.0.0.1:8088/ingest/kong",
              referenceable = true,
              encrypted = true, -- Kong Enterprise keyring; ignored by Kong OSS
              description = "reflex's Kong ingest URL. A user:password@ part is sent as HTTP basic auth.",
          } },
          { ingest_token = {
              type = "string",
              required = false,
              referenceable = true, -- e.g. "{vault://env/reflex-ingest-token}"
              encrypted = true,
              description = "Shared secret, sent as `Authorization: Bearer <token>` (reflex's server.ingestAuth.token).",
          } },
          { timeout = {
              type = "number", default = 10000, gt = 0,
              description = "Connect/send/read timeout of one POST to reflex, in milliseconds.",
          } },
          { keepalive = {
              type = "number", default = 60000, gt = 0,
              description = "How long an idle connection to reflex stays in the keepalive pool, in milliseconds.",
          } },
          { ssl_verify = {
              type = "boolean", default = false,
              description = "Verify reflex's TLS certificate (needs lua_ssl_trusted_certificate).",
          } },
          { request_body = {
              type = "boolean", default = true,
              description = "Capture request bodies.",
          } },
          { response_body = {
              type = "boolean", default = true,
              description = "Capture response bodies.",
          } },
          { content_types = {
              type = "array", default = DEFAULT_CONTENT_TYPES,
              elements = { type = "string", match = "^[%w!#$&^_.+%-*]+/[%w!#$&^_.+%-*]+$" },
              description = "Media types whose bodies are captured; `*` matches any run of characters except `/`.",
          } },
          { max_body_bytes = {
              type = "integer", default = 65536, between = { 1, 16777216 },
              description = "Bodies longer than this are cut to it and flagged with body_truncated.",
          } },
          { queue = typedefs.queue {
              default = {
                max_batch_size = 50,
              },
          } },
        },
        custom_validator = function(config)
          local token = config.ingest_token
          if token ~= nil and token ~= ngx.null and has_userinfo(config.http_endpoint) then
            return false, "specify either ingest_token or user info in http_endpoint, not both"
          end
          return true
        end,
      },
    },
  },
}
