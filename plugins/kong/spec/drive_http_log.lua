-- The other way in: Kong's stock plugins as examples/kong-http-log/kong.yml configures them. Runs
-- that file's pre-function snippets (access, body_filter) and http-log's custom_fields_by_lua (log)
-- for the shop scenario on the PDK stand-in, each compiled in an environment like Kong's sandbox
-- (untrusted_lua = sandbox: kong, ngx and the safe parts of the Lua library; no io, no require),
-- then builds the payload http-log POSTs for a batch: "[" .. entries joined by "," .. "]".
--
--   cd plugins/kong && luajit spec/drive_http_log.lua <snippets.json> <out-file>
-- snippets.json: {"access": [code], "body_filter": [code], "custom_fields_by_lua": {key: code}}
-- (the test extracts them from the YAML).
local pdk = require("spec.support.kong_pdk").install()
local cjson = require "cjson"
local scenario = require "spec.support.shop_scenario"

local snippets_file, out = arg[1], arg[2]
assert(snippets_file and out, "usage: luajit spec/drive_http_log.lua <snippets.json> <out-file>")
local f = assert(io.open(snippets_file, "rb"))
local snippets = cjson.decode(f:read("*a"))
f:close()

-- kong/tools/sandbox/environment/lua.lua: the Lua the sandbox keeps
local function sandbox_env()
  local env = {
    kong = kong, ngx = ngx,
    assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
    select = select, tonumber = tonumber, tostring = tostring, type = type, unpack = unpack, xpcall = xpcall,
    string = {}, table = {}, math = {},
  }
  for _, k in ipairs({ "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "rep",
                       "reverse", "sub", "upper" }) do
    env.string[k] = string[k]
  end
  for _, k in ipairs({ "concat", "insert", "remove", "sort", "unpack" }) do
    env.table[k] = table[k]
  end
  for _, k in ipairs({ "floor", "ceil", "max", "min", "abs" }) do
    env.math[k] = math[k]
  end
  return env
end

local function compile(code, name)
  local fn, err = load(code, "=" .. name, "t", sandbox_env())
  assert(fn, err)
  return fn
end

local function compile_all(list, name)
  local fns = {}
  for i, code in ipairs(list or {}) do
    fns[i] = compile(code, name .. "[" .. i .. "]")
  end
  return fns
end

local access = compile_all(snippets.access, "pre-function.access")
local body_filter = compile_all(snippets.body_filter, "pre-function.body_filter")
local custom_fields = {}
for key, code in pairs(snippets.custom_fields_by_lua or {}) do
  custom_fields[key] = compile(code, "http-log.custom_fields_by_lua." .. key)
end

-- pre-function (priority 1000000) runs first in every phase; http-log (12) logs.
local entries = {}
local stock = {
  access = function() for _, fn in ipairs(access) do fn() end end,
  header_filter = function() end,
  body_filter = function() for _, fn in ipairs(body_filter) do fn() end end,
  log = function()
    -- kong/plugins/http-log/handler.lua: set_serialize_value(key, sandbox(expression)()) for each field
    for key, fn in pairs(custom_fields) do
      kong.log.set_serialize_value(key, fn())
    end
    entries[#entries + 1] = cjson.encode(kong.log.serialize())
  end,
}

for _, request in ipairs(scenario("ord_7002", { "f4d6e8a0b2c3d5e7f9a1b3c5d7e9f1a3", "a5e7f9b1c3d4e6f8a0b2c4d6e8f0a2b4" })) do
  local sent = pdk.run(stock, nil, request)
  for i, chunk in ipairs(request.response.chunks) do
    assert(sent[i] == chunk, "a chunk reached the client changed")
  end
end

local payload = "[" .. table.concat(entries, ",") .. "]"
f = assert(io.open(out, "wb"))
f:write(payload)
f:close()
io.stdout:write(("wrote %d bytes (%d log objects) to %s\n"):format(#payload, #entries, out))
