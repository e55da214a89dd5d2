-- Runs the reflex plugin through access, header_filter, body_filter and log for two requests to the
-- example shop API (spec/support/shop_scenario.lua) on the PDK stand-in, lets the queue send them as
-- one batch, and writes the exact bytes the queue handler POSTed to <out>, and its method, URL and
-- headers to <out>.request.json. test/integration/kong-plugin.test.ts posts those bytes, unchanged,
-- to a real reflex.
--
--   cd plugins/kong && luajit spec/drive.lua /tmp/batch.json
local pdk = require("spec.support.kong_pdk").install()
local cjson = require "cjson"
local handler = require "kong.plugins.reflex.handler"
local scenario = require "spec.support.shop_scenario"

local out = assert(arg[1], "usage: luajit spec/drive.lua <out-file>")
local conf = assert(pdk.conf())

for _, request in ipairs(scenario("ord_7001", { "d2b4c6e8f0a1b3c5d7e9f1a3b5c7d9e1", "e3c5d7f9a1b2c4d6e8f0a2b4c6d8e0f2" })) do
  local sent = pdk.run(handler, conf, request)
  for i, chunk in ipairs(request.response.chunks) do
    assert(sent[i] == chunk, "a chunk reached the client changed")
  end
end

local attempts = pdk.flush()
assert(#attempts == 1 and attempts[1].ok == true, "one batch, delivered")
local request = pdk.http_requests()[1]

local f = assert(io.open(out, "wb"))
f:write(request.body)
f:close()
f = assert(io.open(out .. ".request.json", "wb"))
f:write(cjson.encode({ method = request.method, uri = request.uri, headers = request.headers }))
f:close()
io.stdout:write(("wrote %d bytes (%d log objects) to %s\n"):format(#request.body, #attempts[1].entries, out))
