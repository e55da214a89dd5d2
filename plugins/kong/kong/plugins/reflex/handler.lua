-- reflex: sends Kong's log object (what http-log sends, `kong.log.serialize()`) to reflex's
-- /ingest/kong, with the request and response bodies added as raw text.
--
-- Request path cost: one Lua string of an allowed request body (access), and references to an
-- allowed response body's chunks up to max_body_bytes (body_filter). The chunks the client receives
-- are never touched; everything else (encoding, HTTP) happens in the log phase and in Kong's queue
-- timer.
local cjson = require "cjson"
local http = require "resty.http"
local Queue = require "kong.tools.queue"

local kong = kong
local ngx = ngx
local type = type
local tostring = tostring
local concat = table.concat
local lower = string.lower
local byte = string.byte
local sub = string.sub
local find = string.find
local io_open = io.open

local Reflex = {
  -- Low, so that in every phase the plugin sees what other plugins made of the exchange (what the
  -- upstream API received and what the client got): after auth, transformers and http-log (12).
  PRIORITY = 5,
  VERSION = "0.1.0",
}

---------------------------------------------------------------------------------------------------
-- Content types

-- `application/*+json` -> Lua pattern `^application/[^/]*%+json$`. Compiled once per config table.
local patterns_cache = setmetatable({}, { __mode = "k" })

local function content_type_patterns(conf)
  local patterns = patterns_cache[conf]
  if not patterns then
    patterns = {}
    for i, glob in ipairs(conf.content_types or {}) do
      local escaped = lower(glob):gsub("[%^%$%(%)%%%.%[%]%+%-%?]", "%%%0"):gsub("%*", "[^/]*")
      patterns[i] = "^" .. escaped .. "$"
    end
    patterns_cache[conf] = patterns
  end
  return patterns
end

-- The media type of a Content-Type header value: `Application/JSON; charset=utf-8` -> `application/json`.
local function media_type(value)
  if type(value) ~= "string" then
    return nil
  end
  local semi = find(value, ";", 1, true)
  if semi then
    value = sub(value, 1, semi - 1)
  end
  return lower((value:gsub("^%s+", ""):gsub("%s+$", "")))
end

local function allowed(conf, content_type)
  local mt = media_type(content_type)
  if not mt or mt == "" then
    return false
  end
  for _, pattern in ipairs(content_type_patterns(conf)) do
    if find(mt, pattern) then
      return true
    end
  end
  return false
end

-- A compressed body is bytes, not text: leave it out rather than log garbage.
local function identity_encoded(content_encoding)
  return content_encoding == nil or lower(content_encoding) == "identity"
end

---------------------------------------------------------------------------------------------------
-- Truncation

-- Cuts `s` to at most `limit` bytes without splitting a UTF-8 sequence at the end, so the
-- truncated text stays valid UTF-8 (JSON text must be).
local function cut_utf8(s, limit)
  if #s <= limit then
    return s
  end
  local b = byte(s, limit + 1) -- the first byte left out
  if b >= 0x80 and b < 0xC0 then
    -- a continuation byte: the cut splits a character, leave out its first bytes too
    for j = limit, limit - 2, -1 do
      if j < 1 then
        break
      end
      local c = byte(s, j)
      if c >= 0xC0 then
        return sub(s, 1, j - 1)
      elseif c < 0x80 then
        break -- not UTF-8 after all: a plain cut
      end
    end
  end
  return sub(s, 1, limit)
end

-- Reads at most `n` bytes of the file nginx spilled the request body to (bodies larger than
-- client_body_buffer_size, 8k by default, do not stay in memory).
local function read_prefix(path, n)
  if not path then
    return nil
  end
  local f, err = io_open(path, "rb")
  if not f then
    return nil, err
  end
  local data = f:read(n)
  f:close()
  return data or ""
end

---------------------------------------------------------------------------------------------------
-- Phases

function Reflex:access(conf)
  if not conf.request_body then
    return
  end
  if not allowed(conf, kong.request.get_header("content-type"))
    or not identity_encoded(kong.request.get_header("content-encoding")) then
    return
  end

  local limit = conf.max_body_bytes
  local body, err = kong.request.get_raw_body()
  if not body then
    -- larger than client_body_buffer_size: nginx keeps it in a temporary file
    body, err = read_prefix(ngx.req.get_body_file(), limit + 1)
    if not body then
      kong.log.warn("request body not captured: ", err)
      return
    end
  end
  if body == "" then
    return
  end

  local ctx = kong.ctx.plugin
  if #body > limit then
    ctx.request_body = cut_utf8(body, limit)
    ctx.request_body_truncated = true
  else
    ctx.request_body = body
  end
end

function Reflex:header_filter(conf)
  if not conf.response_body then
    return
  end
  if allowed(conf, kong.response.get_header("content-type"))
    and identity_encoded(kong.response.get_header("content-encoding")) then
    kong.ctx.plugin.response_chunks = { n = 0, size = 0, truncated = false }
  end
end

function Reflex:body_filter(conf)
  local buffer = kong.ctx.plugin.response_chunks
  if not buffer then
    return
  end
  -- Read ngx.arg, never assign it: the client gets every chunk as it comes.
  -- (kong.response.get_raw_body() would hold all chunks back until the last one.)
  local chunk = ngx.arg[1]
  if type(chunk) ~= "string" or chunk == "" then
    return
  end
  local room = conf.max_body_bytes - buffer.size
  if room <= 0 then
    buffer.truncated = true
    return
  end
  if #chunk > room then
    buffer.truncated = true
  else
    room = #chunk
  end
  local n = buffer.n + 1
  buffer.n = n
  buffer[n] = chunk -- strings are immutable: this keeps a reference, not a copy
  buffer.size = buffer.size + room
end

---------------------------------------------------------------------------------------------------
-- Log phase and delivery

local function response_body(buffer, limit)
  if not buffer or buffer.n == 0 then
    return nil
  end
  local body = concat(buffer, "", 1, buffer.n)
  if buffer.truncated then
    body = cut_utf8(body, limit)
  end
  return body
end

-- Splits http_endpoint into the URL to request (without user info) and the user info.
local endpoints_cache = {}

local function parse_endpoint(endpoint)
  local parsed = endpoints_cache[endpoint]
  if not parsed then
    local scheme, authority, rest = endpoint:match("^(%a[%w+.-]*)://([^/?#]*)(.*)$")
    if not scheme then
      return { url = endpoint }
    end
    local userinfo, hostport = authority:match("^(.*)@(.*)$")
    parsed = {
      url = scheme .. "://" .. (hostport or authority) .. rest,
      userinfo = userinfo and ngx.unescape_uri(userinfo) or nil,
      host = hostport or authority,
    }
    endpoints_cache[endpoint] = parsed
  end
  return parsed
end

-- The queue handler: POSTs a batch of encoded log objects to reflex as one JSON array.
-- Returns true on a 2xx answer; otherwise nil and a message, and Kong's queue retries the batch
-- (initial_retry_delay, doubling up to max_retry_delay, for max_retry_time seconds).
local function send_entries(conf, entries)
  local endpoint = parse_endpoint(conf.http_endpoint)
  local headers = {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = "kong-plugin-reflex/" .. Reflex.VERSION,
  }
  local token = conf.ingest_token
  if type(token) == "string" and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  elseif endpoint.userinfo then
    headers["Authorization"] = "Basic " .. ngx.encode_base64(endpoint.userinfo)
  end

  local httpc = http.new()
  httpc:set_timeout(conf.timeout)
  local res, err = httpc:request_uri(endpoint.url, {
    method = "POST",
    headers = headers,
    body = "[" .. concat(entries, ",") .. "]",
    keepalive_timeout = conf.keepalive,
    ssl_verify = conf.ssl_verify,
  })
  if not res then
    return nil, "failed request to " .. tostring(endpoint.host) .. ": " .. tostring(err)
  end
  local status = res.status
  if status >= 200 and status < 300 then
    return true
  end
  return nil, "reflex at " .. tostring(endpoint.host) .. " answered " .. tostring(status)
    .. ": " .. sub(tostring(res.body or ""), 1, 512)
end

local function queue_params(conf)
  if Queue.get_plugin_params then
    return Queue.get_plugin_params("reflex", conf) -- later 3.x releases
  end
  return Queue.get_params(conf) -- the first queue release (3.3)
end

function Reflex:log(conf)
  -- A fresh table each call: adding the bodies here does not leak them into other log plugins
  -- (kong.log.set_serialize_value would).
  local entry = kong.log.serialize()
  local ctx = kong.ctx.plugin

  local request = entry.request
  if request and ctx.request_body then
    request.body = ctx.request_body
    if ctx.request_body_truncated then
      request.body_truncated = true
    end
  end

  local response = entry.response
  local buffer = ctx.response_chunks
  if response and buffer then
    local body = response_body(buffer, conf.max_body_bytes)
    if body then
      response.body = body
      if buffer.truncated then
        response.body_truncated = true
      end
    end
  end

  local ok, err = Queue.enqueue(queue_params(conf), send_entries, conf, cjson.encode(entry))
  if not ok then
    kong.log.err("could not queue the log entry for reflex: ", err)
  end
end

-- for the specs
Reflex._send_entries = send_entries
Reflex._cut_utf8 = cut_utf8

return Reflex
