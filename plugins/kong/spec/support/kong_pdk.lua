-- A stand-in for the parts of Kong's PDK, OpenResty and Kong's libraries that the reflex plugin
-- calls. Kong's runtime (OpenResty + Kong) cannot be installed here, so the specs run the plugin
-- under plain LuaJIT against this. It follows Kong 3.x's sources:
--
--   kong/pdk/request.lua     get_header, get_raw_body (phases rewrite/access/response/admin_api;
--                            nil + "request body did not fit into client body buffer, ..." when
--                            nginx spilled the body to a file)
--   kong/pdk/response.lua    get_header (header_filter/response/body_filter/log/admin_api)
--   kong/pdk/log.lua         serialize (log phase only; a fresh table on each call; redacts
--                            request.headers.authorization), warn/err/debug/info
--   kong/pdk/ctx.lua         kong.ctx.plugin, kong.ctx.shared (one table per request)
--   kong/tools/queue.lua     Queue.enqueue(queue_conf, handler, handler_conf, value) with the same
--                            argument checks; Queue.get_plugin_params(plugin_name, config, name);
--                            a batch succeeds only when the handler returns exactly `true`
--   kong/tools/queue_schema.lua  the queue record's fields and defaults
--   lua-resty-http           http.new(), httpc:set_timeout(ms), httpc:request_uri(uri, params)
--   lua-nginx-module         ngx.arg[1] (chunk) / ngx.arg[2] (eof) in body_filter, ngx.null,
--                            ngx.encode_base64, ngx.unescape_uri, ngx.req.get_body_file
--
-- Anything else the plugin touches fails loudly (the globals are strict), so a PDK call the stand-in
-- does not model shows up as an error rather than as a silent nil.
local cjson = require "cjson"

local M = {}

---------------------------------------------------------------------------------------------------
-- Phases, as Kong's phase checker reports them

local state -- the current request (see M.new_request)
local phase = "init_worker"

local function check_phase(fname, allowed)
  if not allowed[phase] then
    local names = {}
    for name in pairs(allowed) do
      names[#names + 1] = name
    end
    table.sort(names)
    error(("function %s cannot be called in %s phase (only in: %s)")
      :format(fname, phase, table.concat(names, ", ")), 3)
  end
end

local function set_of(...)
  local s = {}
  for _, v in ipairs({ ... }) do
    s[v] = true
  end
  return s
end

local REQUEST_PHASES = set_of("rewrite", "access", "header_filter", "response", "body_filter", "log", "admin_api")
local REQUEST_BODY_PHASES = set_of("rewrite", "access", "response", "admin_api")
local RESPONSE_HEADER_PHASES = set_of("header_filter", "response", "body_filter", "log", "admin_api")
local LOG_PHASE = set_of("log")
local SERIALIZE_VALUE_PHASES = set_of("certificate", "rewrite", "access", "header_filter", "response", "body_filter", "log")

---------------------------------------------------------------------------------------------------
-- Helpers

local function strict(name, t)
  return setmetatable(t, {
    __index = function(_, k)
      error(("the PDK stand-in has no %s.%s; add it (faithfully) if the plugin needs it"):format(name, tostring(k)), 2)
    end,
  })
end

local function lower_keys(headers)
  local out = {}
  for k, v in pairs(headers or {}) do
    out[k:lower()] = v
  end
  return out
end

local function header_value(headers, name)
  local v = headers[name:lower()]
  if type(v) == "table" then
    return v[1]
  end
  return v
end

local function deep_copy(v)
  if type(v) ~= "table" then
    return v
  end
  local out = {}
  for k, x in pairs(v) do
    out[k] = deep_copy(x)
  end
  return setmetatable(out, getmetatable(v))
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function encode_base64(s)
  return ((s:gsub(".", function(c)
    local bits, b = "", c:byte()
    for i = 8, 1, -1 do
      bits = bits .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and "1" or "0")
    end
    return bits
  end) .. "0000"):gsub("%d%d%d?%d?%d?%d?", function(x)
    if #x < 6 then
      return ""
    end
    local c = 0
    for i = 1, 6 do
      c = c + (x:sub(i, i) == "1" and 2 ^ (6 - i) or 0)
    end
    return B64:sub(c + 1, c + 1)
  end) .. ({ "", "==", "=" })[#s % 3 + 1])
end

local function unescape_uri(s)
  return (s:gsub("%%(%x%x)", function(h)
    return string.char(tonumber(h, 16))
  end))
end

---------------------------------------------------------------------------------------------------
-- ngx

local ngx_stub = {
  null = setmetatable({}, { __tostring = function() return "null" end }),
  encode_base64 = encode_base64,
  unescape_uri = unescape_uri,
  get_phase = function() return phase end,
  arg = {},
  req = {
    get_body_file = function()
      return state and state.request.body_file or nil
    end,
  },
}

---------------------------------------------------------------------------------------------------
-- kong.request / kong.response / kong.log / kong.ctx / kong.plugin

local logs = {}

local function logger(level)
  return function(...)
    local parts = {}
    for i = 1, select("#", ...) do
      parts[i] = tostring((select(i, ...)))
    end
    logs[#logs + 1] = { level = level, message = table.concat(parts) }
  end
end

local kong_stub = {
  request = strict("kong.request", {
    get_header = function(name)
      check_phase("kong.request.get_header", REQUEST_PHASES)
      if type(name) ~= "string" then
        error("header name must be a string", 2)
      end
      return header_value(state.request.headers, name)
    end,
    get_raw_body = function()
      check_phase("kong.request.get_raw_body", REQUEST_BODY_PHASES)
      state.request.body_reads = (state.request.body_reads or 0) + 1
      if state.request.body_file then
        return nil, "request body did not fit into client body buffer, consider raising 'client_body_buffer_size'"
      end
      return state.request.body or ""
    end,
  }),
  response = strict("kong.response", {
    get_header = function(name)
      check_phase("kong.response.get_header", RESPONSE_HEADER_PHASES)
      if type(name) ~= "string" then
        error("header name must be a string", 2)
      end
      return header_value(state.response.headers, name)
    end,
  }),
  log = strict("kong.log", {
    debug = logger("debug"),
    info = logger("info"),
    notice = logger("notice"),
    warn = logger("warn"),
    err = logger("err"),
    serialize = function()
      check_phase("kong.log.serialize", LOG_PHASE)
      return M.serialize(state, state.serialize_values)
    end,
    -- Kong applies these to every later kong.log.serialize() of the request, in every log plugin.
    set_serialize_value = function(key, value)
      check_phase("kong.log.set_serialize_value", SERIALIZE_VALUE_PHASES)
      if type(key) ~= "string" then
        error("key must be a string", 2)
      end
      local t = type(value)
      if not (t == "nil" or t == "string" or t == "number" or t == "boolean" or t == "table") then
        error("value must be nil, a number, string, boolean or a non-self-referencial table containing numbers, string and booleans", 2)
      end
      local values = state.serialize_values
      values[#values + 1] = { key = key, value = value }
    end,
  }),
  ctx = { plugin = {}, shared = {} },
  plugin = strict("kong.plugin", {
    get_id = function()
      return "5a1f6f12-0b7c-4a52-9d49-0c2f3c8e1a01"
    end,
  }),
}

---------------------------------------------------------------------------------------------------
-- kong.log.serialize(): the object http-log sends (Kong 3.8's field set), built from the request

local SERVICE = {
  id = "fb4eecf8-dec2-40ef-b779-16de7e2384c7", name = "shop-api", host = "shop-api.internal", port = 8080,
  protocol = "http", retries = 5, connect_timeout = 60000, write_timeout = 60000, read_timeout = 60000,
  enabled = true, created_at = 1726782459, updated_at = 1726782459, ws_id = "f381e34e-5c25-4e65-b91b-3c0a86cfc393",
}
local ROUTE = {
  id = "0f1a4101-3327-4274-b1e4-484a4ab0c030", name = "shop-api", paths = { "/shop" }, protocols = { "http", "https" },
  strip_path = true, preserve_host = false, request_buffering = true, response_buffering = true,
  https_redirect_status_code = 426, regex_priority = 0, path_handling = "v0",
  service = { id = SERVICE.id }, created_at = 1726782477, updated_at = 1726782477,
  ws_id = "f381e34e-5c25-4e65-b91b-3c0a86cfc393",
}

local function querystring(query)
  local out = {}
  for k, v in pairs(query or {}) do
    out[k] = v
  end
  return out
end

local function encode_query(query)
  local keys = {}
  for k in pairs(query or {}) do
    keys[#keys + 1] = k
  end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do
    local v = query[k]
    if v == true then
      parts[#parts + 1] = k
    elseif type(v) == "table" then
      for _, x in ipairs(v) do
        parts[#parts + 1] = k .. "=" .. x
      end
    else
      parts[#parts + 1] = k .. "=" .. v
    end
  end
  return table.concat(parts, "&")
end

-- kong/pdk/log.lua edit_result: dotted keys address nested fields; nil removes a field.
local function apply_serialize_values(root, values)
  for _, kv in ipairs(values or {}) do
    local t, rest = root, kv.key
    while true do
      local head, tail = rest:match("^([^.]+)%.(.+)$")
      if not head then
        break
      end
      if type(t[head]) ~= "table" then
        t[head] = {}
      end
      t, rest = t[head], tail
    end
    t[rest] = deep_copy(kv.value)
  end
  return root
end

function M.serialize(s, serialize_values)
  local req, res = s.request, s.response
  local qs = encode_query(req.query)
  local uri = req.path .. (qs ~= "" and "?" .. qs or "")
  local upstream_uri = req.upstream_path and (req.upstream_path .. (qs ~= "" and "?" .. qs or "")) or uri
  local request_headers = deep_copy(req.headers)
  if request_headers.authorization ~= nil then
    request_headers.authorization = "REDACTED"
  end
  local sent = 0
  for _, chunk in ipairs(res.chunks or {}) do
    sent = sent + #chunk
  end
  local root = {
    request = {
      id = req.id,
      uri = uri,
      url = req.scheme .. "://" .. req.host .. ":" .. req.port .. uri,
      querystring = querystring(req.query),
      method = req.method,
      headers = request_headers,
      size = 200 + #(req.body or ""),
    },
    upstream_uri = upstream_uri,
    upstream_status = tostring(res.status),
    response = {
      status = res.status,
      headers = deep_copy(res.headers),
      size = 300 + sent,
    },
    latencies = { kong = 1, proxy = s.latency - 2, request = s.latency, receive = 1 },
    tries = {
      { balancer_start = s.started_at + 1, balancer_start_ns = (s.started_at + 1) * 1e6, ip = "10.0.3.17", port = 8080,
        balancer_latency = 0, balancer_latency_ns = 27904 },
    },
    route = deep_copy(ROUTE),
    service = deep_copy(SERVICE),
    client_ip = s.client_ip,
    started_at = s.started_at,
    source = "upstream",
    workspace = "f381e34e-5c25-4e65-b91b-3c0a86cfc393",
    workspace_name = "default",
  }
  if s.consumer then
    root.consumer = { id = s.consumer.id, username = s.consumer.username, created_at = 1674035962, type = 0 }
    root.authenticated_entity = { id = s.consumer.credential_id, consumer_id = s.consumer.id }
  end
  return apply_serialize_values(root, serialize_values)
end

---------------------------------------------------------------------------------------------------
-- kong.tools.queue

local QUEUE_DEFAULTS = { -- kong/tools/queue_schema.lua
  max_batch_size = 1, max_coalescing_delay = 1, max_entries = 10000, max_bytes = nil,
  max_retry_time = 60, initial_retry_delay = 0.01, max_retry_delay = 60, concurrency_limit = 1,
}

local queues = {}
local Queue = {}

function Queue.get_plugin_params(plugin_name, config, queue_name)
  local queue_config = config.queue or {}
  queue_config.log_tag = plugin_name .. " plugin " .. kong_stub.plugin.get_id()
  if not queue_config.name then
    queue_config.name = queue_name or kong_stub.plugin.get_id()
  end
  return queue_config
end

function Queue.enqueue(queue_conf, handler, handler_conf, value)
  assert(type(queue_conf) == "table", "arg #1 (queue_conf) must be a table")
  assert(type(handler) == "function", "arg #2 (handler) must be a function")
  assert(handler_conf == nil or type(handler_conf) == "table", "arg #3 (handler_conf) must be a table or nil")
  assert(type(queue_conf.name) == "string", "arg #1 (queue_conf) must include a name")
  for _, k in ipairs({ "max_batch_size", "max_coalescing_delay", "max_entries", "max_retry_time",
                       "initial_retry_delay", "max_retry_delay", "concurrency_limit" }) do
    assert(type(queue_conf[k]) == "number", "arg #1 (queue_conf) " .. k .. " must be a number")
  end
  if value == nil then
    return nil, "entry must be a non-nil Lua value"
  end
  local q = queues[queue_conf.name]
  if not q then
    q = { conf = queue_conf, handler = handler, entries = {} }
    queues[queue_conf.name] = q
  end
  q.handler_conf = handler_conf -- the latest configuration wins, as in Kong
  q.entries[#q.entries + 1] = value
  return true
end

-- Test side: what is waiting on the queues.
function M.queued()
  local out = {}
  for name, q in pairs(queues) do
    out[name] = q.entries
  end
  return out
end

-- Test side: runs the queues the way Kong's queue timer does. Each batch (up to max_batch_size
-- entries) is passed to the handler; a batch succeeds only when the handler returns `true`,
-- otherwise it is retried, here at most `max_attempts` times (Kong: for max_retry_time seconds).
-- Returns a list of attempts: { entries, ok, err }.
function M.flush(max_attempts)
  local attempts = {}
  for _, q in pairs(queues) do
    local entries = q.entries
    q.entries = {}
    local i = 1
    while i <= #entries do
      local batch = {}
      for j = i, math.min(#entries, i + q.conf.max_batch_size - 1) do
        batch[#batch + 1] = entries[j]
      end
      i = i + #batch
      for _ = 1, max_attempts or 1 do
        local status, ok, err = pcall(q.handler, q.handler_conf, batch)
        if not status then
          ok, err = nil, ok
        end
        attempts[#attempts + 1] = { entries = batch, ok = ok, err = err }
        if status and ok == true then
          break
        end
      end
    end
  end
  return attempts
end

---------------------------------------------------------------------------------------------------
-- resty.http

local http_requests = {}
local http_answers = {}

local http = {}

function http.new()
  return setmetatable({ timeout = nil }, {
    __index = {
      set_timeout = function(self, ms)
        self.timeout = ms
      end,
      request_uri = function(self, uri, params)
        assert(type(uri) == "string", "uri must be a string")
        assert(uri:match("^https?://[^/@]+"), "lua-resty-http cannot parse " .. uri)
        http_requests[#http_requests + 1] = {
          uri = uri, method = params.method, headers = deep_copy(params.headers), body = params.body,
          keepalive_timeout = params.keepalive_timeout, ssl_verify = params.ssl_verify, timeout = self.timeout,
        }
        local answer = table.remove(http_answers, 1) or { status = 200, body = '{"received":1}' }
        if answer.err then
          return nil, answer.err
        end
        return { status = answer.status, body = answer.body or "", headers = answer.headers or {} }
      end,
    },
  })
end

-- Test side: the requests made, and the answers to give (in order; then 200).
function M.http_requests()
  return http_requests
end

function M.answer(...)
  for _, a in ipairs({ ... }) do
    http_answers[#http_answers + 1] = a
  end
end

---------------------------------------------------------------------------------------------------
-- kong.db.schema.typedefs (enough to load schema.lua and read its defaults)

local function callable(def)
  return setmetatable(def, {
    __call = function(t, overrides)
      local out = {}
      for k, v in pairs(t) do
        out[k] = v
      end
      for k, v in pairs(overrides or {}) do
        out[k] = v
      end
      return callable(out)
    end,
  })
end

local typedefs = {
  protocols_http = callable({ type = "set", required = true, default = { "grpc", "grpcs", "http", "https" } }),
  url = callable({ type = "string" }),
  queue = callable({
    type = "record",
    fields = {
      { max_batch_size = { type = "integer", default = 1, between = { 1, 1000000 } } },
      { max_coalescing_delay = { type = "number", default = 1, between = { 0, 3600 } } },
      { max_entries = { type = "integer", default = 10000, between = { 1, 1000000 } } },
      { max_bytes = { type = "integer" } },
      { max_retry_time = { type = "number", default = 60 } },
      { initial_retry_delay = { type = "number", default = 0.01, between = { 0.001, 1000000 } } },
      { max_retry_delay = { type = "number", default = 60, between = { 0.001, 1000000 } } },
      { concurrency_limit = { type = "integer", default = 1, one_of = { -1, 1 } } },
    },
  }),
}

-- The plugin's `conf` as Kong would build it from schema.lua's defaults, with `overrides` applied.
function M.conf(overrides)
  local schema = require "kong.plugins.reflex.schema"
  local config
  for _, f in ipairs(schema.fields) do
    if f.config then
      config = f.config
    end
  end
  local conf = {}
  for _, field in ipairs(config.fields) do
    local name, def = next(field)
    if def.type == "record" then
      local record = deep_copy(def.default or {})
      for _, sub in ipairs(def.fields) do
        local sname, sdef = next(sub)
        if record[sname] == nil then
          record[sname] = deep_copy(sdef.default)
        end
      end
      conf[name] = record
    else
      conf[name] = deep_copy(def.default)
    end
  end
  for k, v in pairs(overrides or {}) do
    if type(v) == "table" and type(conf[k]) == "table" and k == "queue" then
      for qk, qv in pairs(v) do
        conf.queue[qk] = qv
      end
    else
      conf[k] = v
    end
  end
  local ok, err = config.custom_validator(conf)
  if not ok then
    return nil, err
  end
  return conf
end

---------------------------------------------------------------------------------------------------
-- Installing the stand-in and driving a request through the phases

function M.install()
  _G.ngx = strict("ngx", ngx_stub)
  _G.kong = strict("kong", kong_stub)
  package.loaded["resty.http"] = http
  package.loaded["kong.tools.queue"] = Queue
  package.loaded["kong.db.schema.typedefs"] = typedefs
  return M
end

-- Forgets queued entries, HTTP requests and answers, and log lines.
function M.reset()
  for k in pairs(queues) do
    queues[k] = nil
  end
  for i = #http_requests, 1, -1 do
    http_requests[i] = nil
  end
  for i = #http_answers, 1, -1 do
    http_answers[i] = nil
  end
  for i = #logs, 1, -1 do
    logs[i] = nil
  end
end

function M.logs()
  return logs
end

-- A request as Kong sees it. `request.body` is the body nginx kept in memory; `request.body_file`
-- makes it one nginx spilled to disk. `response.chunks` are the body chunks the upstream sent.
function M.new_request(spec)
  local req = spec.request or {}
  local res = spec.response or {}
  state = {
    request = {
      id = req.id or "7c1e9a014f0b4d2e9a4b1c8e5f6a7b99",
      method = req.method or "GET",
      scheme = req.scheme or "https",
      host = req.host or "api.shop.example",
      port = req.port or 443,
      path = req.path or "/",
      upstream_path = req.upstream_path,
      query = req.query,
      headers = lower_keys(req.headers),
      body = req.body,
      body_file = req.body_file,
    },
    response = {
      status = res.status or 200,
      headers = lower_keys(res.headers),
      chunks = res.chunks or {},
    },
    started_at = spec.started_at or 1793610843120,
    latency = spec.latency or 23,
    client_ip = spec.client_ip or "203.0.113.7",
    consumer = spec.consumer,
    serialize_values = {},
  }
  kong_stub.ctx.plugin = {}
  kong_stub.ctx.shared = {}
  return state
end

-- Runs `handler` through access, header_filter, body_filter (once per chunk, then the eof call
-- with an empty chunk, as nginx does) and log. Returns the chunks as they left body_filter, i.e.
-- what the client received.
function M.run(handler, conf, spec)
  M.new_request(spec)
  local sent = {}
  local function in_phase(name, fn)
    phase = name
    local ok, err = pcall(fn)
    phase = "init_worker"
    if not ok then
      error(err, 0)
    end
  end
  in_phase("access", function() handler:access(conf) end)
  in_phase("header_filter", function() handler:header_filter(conf) end)
  local chunks = state.response.chunks
  for i = 1, #chunks + 1 do
    local chunk, eof = chunks[i] or "", i == #chunks + 1
    ngx_stub.arg = { chunk, eof }
    in_phase("body_filter", function() handler:body_filter(conf) end)
    sent[#sent + 1] = ngx_stub.arg[1]
    ngx_stub.arg = {}
  end
  in_phase("log", function() handler:log(conf) end)
  return sent, state
end

-- cjson as Kong encodes with it, for the specs' own decoding.
M.cjson = cjson

return M
