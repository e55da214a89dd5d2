-- The reflex plugin's phases against the PDK stand-in (spec/support/kong_pdk.lua): Kong itself cannot
-- run here, so these specs check what the plugin asks of Kong and what it hands to Kong's queue.
local pdk = require("spec.support.kong_pdk").install()
local cjson = require "cjson"
local handler = require "kong.plugins.reflex.handler"

local function conf(overrides)
  return assert(pdk.conf(overrides))
end

local function json_request(body, extra)
  local spec = {
    request = {
      method = "POST", path = "/shop/v1/orders", upstream_path = "/v1/orders",
      headers = { ["content-type"] = "application/json", ["content-length"] = tostring(#body) },
      body = body,
    },
    response = {
      status = 201,
      headers = { ["content-type"] = "application/json; charset=utf-8" },
      chunks = { '{"id":"ord_1"}' },
    },
  }
  for k, v in pairs(extra or {}) do
    spec[k] = v
  end
  return spec
end

-- The one log object queued by the last run, decoded.
local function queued_entry()
  local all = {}
  for _, entries in pairs(pdk.queued()) do
    for _, e in ipairs(entries) do
      all[#all + 1] = e
    end
  end
  assert.are.equal(1, #all)
  assert.are.equal("string", type(all[1]))
  return cjson.decode(all[1]), all[1]
end

describe("reflex plugin", function()
  before_each(function()
    pdk.reset()
  end)

  describe("schema", function()
    it("defaults to reflex on loopback, the text content types, 64 KiB and batches of 50", function()
      local c = conf()
      assert.are.equal("http://127.0.0.1:8088/ingest/kong", c.http_endpoint)
      assert.are.same({ "application/json", "application/*+json", "application/x-www-form-urlencoded", "text/plain" },
        c.content_types)
      assert.are.equal(65536, c.max_body_bytes)
      assert.are.equal(50, c.queue.max_batch_size)
      assert.are.equal(60, c.queue.max_retry_time) -- the queue schema's own defaults stay
      assert.is_nil(c.ingest_token)
    end)

    it("refuses a token together with user info in the endpoint", function()
      local c, err = pdk.conf({ http_endpoint = "http://u:p@reflex:8088/ingest/kong", ingest_token = "s3cret" })
      assert.is_nil(c)
      assert.matches("either ingest_token or user info", err)
    end)
  end)

  describe("request bodies (access phase)", function()
    it("captures an allowed content type as raw text", function()
      local body = '{"customerId":"cus_1","items":[{"sku":"MUG","quantity":1}]}'
      pdk.run(handler, conf(), json_request(body))
      local entry = queued_entry()
      assert.are.equal(body, entry.request.body)
      assert.is_nil(entry.request.body_truncated)
    end)

    it("matches media types case-insensitively, ignoring parameters, and +json through the glob", function()
      for _, ct in ipairs({ "Application/JSON; charset=UTF-8", "application/merge-patch+json", "text/plain",
                            "application/x-www-form-urlencoded" }) do
        pdk.reset()
        local spec = json_request("a=1")
        spec.request.headers["content-type"] = ct
        pdk.run(handler, conf(), spec)
        assert.are.equal("a=1", queued_entry().request.body, ct)
      end
    end)

    it("leaves out a refused content type without reading the body", function()
      for _, ct in ipairs({ "application/octet-stream", "multipart/form-data; boundary=x", "image/png", "jsonx" }) do
        pdk.reset()
        local spec = json_request("\0\1\2")
        spec.request.headers["content-type"] = ct
        local _, state = pdk.run(handler, conf(), spec)
        assert.is_nil(state.request.body_reads, ct)
        assert.is_nil(queued_entry().request.body, ct)
      end
    end)

    it("leaves out bodies without a content type, compressed ones, and empty ones", function()
      local spec = json_request("{}")
      spec.request.headers["content-type"] = nil
      pdk.run(handler, conf(), spec)
      assert.is_nil(queued_entry().request.body)

      pdk.reset()
      spec = json_request("\31\139gzip")
      spec.request.headers["content-encoding"] = "gzip"
      pdk.run(handler, conf(), spec)
      assert.is_nil(queued_entry().request.body)

      pdk.reset()
      pdk.run(handler, conf(), json_request(""))
      assert.is_nil(queued_entry().request.body)
    end)

    it("honours content_types and request_body = false", function()
      local spec = json_request("<a/>")
      spec.request.headers["content-type"] = "application/xml"
      pdk.run(handler, conf({ content_types = { "application/xml" } }), spec)
      assert.are.equal("<a/>", queued_entry().request.body)

      pdk.reset()
      local _, state = pdk.run(handler, conf({ request_body = false }), json_request("{}"))
      assert.is_nil(state.request.body_reads)
      assert.is_nil(queued_entry().request.body)
    end)

    it("cuts a body over max_body_bytes to the limit and flags it", function()
      local body = '{"note":"' .. string.rep("x", 100) .. '"}'
      pdk.run(handler, conf({ max_body_bytes = 32 }), json_request(body))
      local entry = queued_entry()
      assert.are.equal(body:sub(1, 32), entry.request.body)
      assert.is_true(entry.request.body_truncated)
    end)

    it("keeps a body of exactly max_body_bytes whole and unflagged", function()
      local body = string.rep("a", 32)
      pdk.run(handler, conf({ max_body_bytes = 32 }), json_request(body))
      local entry = queued_entry()
      assert.are.equal(body, entry.request.body)
      assert.is_nil(entry.request.body_truncated)
    end)

    it("never cuts inside a UTF-8 character", function()
      local body = "abc" .. "\226\130\172" .. "def" -- "abc€def"; the euro sign is bytes 4..6
      for limit = 3, 6 do
        pdk.reset()
        pdk.run(handler, conf({ max_body_bytes = limit }), json_request(body))
        local entry = queued_entry()
        assert.are.equal(limit == 6 and "abc\226\130\172" or "abc", entry.request.body, "limit " .. limit)
        assert.is_true(entry.request.body_truncated)
      end
    end)

    it("reads only the first max_body_bytes + 1 bytes of a body nginx spilled to a file", function()
      local path = os.tmpname()
      local f = assert(io.open(path, "wb"))
      f:write('{"big":"' .. string.rep("y", 20000) .. '"}')
      f:close()
      local spec = json_request("")
      spec.request.body = nil
      spec.request.body_file = path
      pdk.run(handler, conf({ max_body_bytes = 1000 }), spec)
      os.remove(path)
      local entry = queued_entry()
      assert.are.equal(1000, #entry.request.body)
      assert.are.equal('{"big":"yy', entry.request.body:sub(1, 10))
      assert.is_true(entry.request.body_truncated)
    end)
  end)

  describe("response bodies (header_filter and body_filter)", function()
    it("assembles a chunked body across body_filter calls and passes every chunk through unchanged", function()
      local chunks = { '{"id":"ord_5001",', '"status":"pending",', '"total":89.7}' }
      local spec = json_request("{}")
      spec.response.chunks = chunks
      local sent = pdk.run(handler, conf(), spec)
      assert.are.same({ chunks[1], chunks[2], chunks[3], "" }, sent)
      local entry = queued_entry()
      assert.are.equal(table.concat(chunks), entry.response.body)
      assert.is_nil(entry.response.body_truncated)
    end)

    it("stops buffering at max_body_bytes, flags the cut, and still passes everything through", function()
      local chunks = { string.rep("a", 10), string.rep("b", 10), string.rep("c", 10), string.rep("d", 10) }
      local spec = json_request("{}")
      spec.response.headers["content-type"] = "text/plain"
      spec.response.chunks = chunks
      local sent = pdk.run(handler, conf({ max_body_bytes = 25 }), spec)
      assert.are.same({ chunks[1], chunks[2], chunks[3], chunks[4], "" }, sent)
      local entry = queued_entry()
      assert.are.equal(string.rep("a", 10) .. string.rep("b", 10) .. "ccccc", entry.response.body)
      assert.is_true(entry.response.body_truncated)
    end)

    it("does not flag a body that ends exactly at the limit", function()
      local spec = json_request("{}")
      spec.response.chunks = { "12345", "67890" }
      pdk.run(handler, conf({ max_body_bytes = 10 }), spec)
      local entry = queued_entry()
      assert.are.equal("1234567890", entry.response.body)
      assert.is_nil(entry.response.body_truncated)
    end)

    it("leaves out refused, compressed and empty responses, and response_body = false", function()
      local spec = json_request("{}")
      spec.response.headers["content-type"] = "application/pdf"
      local sent = pdk.run(handler, conf(), spec)
      assert.are.same({ '{"id":"ord_1"}', "" }, sent)
      assert.is_nil(queued_entry().response.body)

      pdk.reset()
      spec = json_request("{}")
      spec.response.headers["content-encoding"] = "gzip"
      pdk.run(handler, conf(), spec)
      assert.is_nil(queued_entry().response.body)

      pdk.reset()
      spec = json_request("{}")
      spec.response.status = 204
      spec.response.chunks = {}
      pdk.run(handler, conf(), spec)
      assert.is_nil(queued_entry().response.body)

      pdk.reset()
      pdk.run(handler, conf({ response_body = false }), json_request("{}"))
      assert.is_nil(queued_entry().response.body)
    end)
  end)

  describe("log phase", function()
    it("queues exactly kong.log.serialize() plus the two bodies", function()
      local spec = json_request('{"customerId":"cus_1"}', {
        consumer = { id = "ae974d6c-0f8a-4dc5-b701-fa0aa38592bd", username = "shop-web", credential_id = "c1" },
      })
      spec.request.headers["Authorization"] = "Bearer secret"
      local _, state = pdk.run(handler, conf(), spec)
      local entry = queued_entry()

      local expected = pdk.serialize(state)
      expected.request.body = '{"customerId":"cus_1"}'
      expected.response.body = '{"id":"ord_1"}'
      assert.are.same(expected, entry)
      assert.are.equal("REDACTED", entry.request.headers.authorization)
    end)

    it("does not add the bodies to the shared serializer (other log plugins do not get them)", function()
      local _, state = pdk.run(handler, conf(), json_request('{"a":1}'))
      assert.are.same({}, state.serialize_values) -- no kong.log.set_serialize_value
      assert.is_nil(pdk.serialize(state, state.serialize_values).request.body)
      assert.are.same({}, pdk.logs())
    end)

    it("uses one queue per plugin instance, configured from conf.queue", function()
      pdk.run(handler, conf(), json_request("{}"))
      pdk.run(handler, conf(), json_request("{}"))
      local names = {}
      for name, entries in pairs(pdk.queued()) do
        names[#names + 1] = name
        assert.are.equal(2, #entries)
      end
      assert.are.same({ "5a1f6f12-0b7c-4a52-9d49-0c2f3c8e1a01" }, names)
    end)
  end)

  describe("queue handler", function()
    local function queue_two(c)
      pdk.run(handler, c, json_request('{"n":1}'))
      pdk.run(handler, c, json_request('{"n":2}'))
    end

    it("POSTs the batch as one JSON array to http_endpoint, with timeout and keepalive", function()
      local c = conf({ http_endpoint = "http://reflex.internal:8088/ingest/kong", timeout = 2500, keepalive = 30000 })
      queue_two(c)
      local entries = pdk.queued()[next(pdk.queued())]
      local attempts = pdk.flush()
      assert.are.equal(1, #attempts)
      assert.is_true(attempts[1].ok)

      local requests = pdk.http_requests()
      assert.are.equal(1, #requests)
      local r = requests[1]
      assert.are.equal("POST", r.method)
      assert.are.equal("http://reflex.internal:8088/ingest/kong", r.uri)
      assert.are.equal("application/json", r.headers["Content-Type"])
      assert.are.equal(2500, r.timeout)
      assert.are.equal(30000, r.keepalive_timeout)
      assert.are.equal("[" .. entries[1] .. "," .. entries[2] .. "]", r.body)
      local batch = cjson.decode(r.body)
      assert.are.equal('{"n":1}', batch[1].request.body)
      assert.are.equal('{"n":2}', batch[2].request.body)
    end)

    it("sends Authorization: Bearer <ingest_token> when a token is set", function()
      queue_two(conf({ ingest_token = "s3cret-token" }))
      pdk.flush()
      assert.are.equal("Bearer s3cret-token", pdk.http_requests()[1].headers["Authorization"])
    end)

    it("sends no Authorization header without a token", function()
      queue_two(conf())
      pdk.flush()
      assert.is_nil(pdk.http_requests()[1].headers["Authorization"])
    end)

    it("sends user info in http_endpoint as basic auth, and not in the URL", function()
      queue_two(conf({ http_endpoint = "http://kong:p%40ss@reflex:8088/ingest/kong" }))
      pdk.flush()
      local r = pdk.http_requests()[1]
      assert.are.equal("http://reflex:8088/ingest/kong", r.uri)
      assert.are.equal("Basic " .. ngx.encode_base64("kong:p@ss"), r.headers["Authorization"])
      assert.are.equal("Basic a29uZzpwQHNz", r.headers["Authorization"])
    end)

    it("splits the queue into batches of queue.max_batch_size", function()
      local c = conf()
      c.queue.max_batch_size = 2
      for i = 1, 5 do
        pdk.run(handler, c, json_request('{"n":' .. i .. '}'))
      end
      pdk.flush()
      local sizes = {}
      for _, r in ipairs(pdk.http_requests()) do
        sizes[#sizes + 1] = #cjson.decode(r.body)
      end
      assert.are.same({ 2, 2, 1 }, sizes)
    end)

    it("returns nil and an error on a non-2xx answer, so the queue retries the same batch", function()
      queue_two(conf())
      pdk.answer({ status = 503, body = '{"error":"store busy"}' }, { status = 413, body = "too large" }, { status = 200 })
      local attempts = pdk.flush(5)
      assert.are.equal(3, #attempts)
      assert.is_nil(attempts[1].ok)
      assert.matches("answered 503", attempts[1].err)
      assert.matches("store busy", attempts[1].err)
      assert.is_nil(attempts[2].ok)
      assert.matches("answered 413", attempts[2].err)
      assert.is_true(attempts[3].ok)
      local requests = pdk.http_requests()
      assert.are.equal(requests[1].body, requests[3].body)
    end)

    it("returns nil and an error when reflex cannot be reached", function()
      queue_two(conf())
      pdk.answer({ err = "connection refused" })
      local attempts = pdk.flush(2)
      assert.is_nil(attempts[1].ok)
      assert.matches("connection refused", attempts[1].err)
      assert.is_true(attempts[2].ok)
    end)

    it("treats any 2xx as delivered", function()
      queue_two(conf())
      pdk.answer({ status = 202 })
      local attempts = pdk.flush(3)
      assert.are.equal(1, #attempts)
      assert.is_true(attempts[1].ok)
    end)
  end)

  describe("the PDK stand-in itself", function()
    it("runs under LuaJIT, as Kong does", function()
      assert.is_table(rawget(_G, "jit"), "run busted with luajit: luajit /usr/bin/busted")
    end)

    it("refuses PDK calls outside their phases, as Kong does", function()
      assert.has_error(function() kong.log.serialize() end)
      assert.has_error(function() kong.request.get_raw_body() end)
    end)
  end)
end)
