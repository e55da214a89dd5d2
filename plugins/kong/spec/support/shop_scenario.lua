-- Two requests to the example shop API (examples/shop/openapi.yaml), as Kong sees them, for the
-- drivers: a POST /v1/orders whose event data is in the response body (sent in three chunks), and a
-- PATCH that cancels the order, whose reason is only in the request body.
--
-- `order` names the order, `ids` the two Kong request ids (reflex drops a request id it has seen).
return function(order, ids)
  local new_order = '{"customerId":"cus_2001","items":[{"sku":"LAMP-OAK","quantity":1,"unitPrice":540},'
    .. '{"sku":"BULB-E27","quantity":4,"unitPrice":2.5}]}'
  local patch = '{"status":"cancelled","cancellationReason":"customer changed mind – ordered twice"}'
  return {
    {
      started_at = 1793611000000,
      request = {
        id = ids[1], method = "POST", path = "/shop/v1/orders", upstream_path = "/v1/orders",
        headers = {
          host = "api.shop.example", ["content-type"] = "application/json", ["content-length"] = tostring(#new_order),
          accept = "application/json", authorization = "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln", ["user-agent"] = "shop-web/4.2.0",
        },
        body = new_order,
      },
      response = {
        status = 201,
        headers = {
          ["content-type"] = "application/json", ["x-kong-request-id"] = ids[1], ["transfer-encoding"] = "chunked",
          server = "shop-api/2.14.1", via = "1.1 kong/3.8.0",
        },
        chunks = {
          '{"id":"' .. order .. '","customerId":"cus_2001","status":"pending","currency":"EUR",',
          '"total":550,"items":[{"sku":"LAMP-OAK","quantity":1,"unitPrice":540},',
          '{"sku":"BULB-E27","quantity":4,"unitPrice":2.5}]}',
        },
      },
      consumer = { id = "ae974d6c-0f8a-4dc5-b701-fa0aa38592bd", username = "shop-web", credential_id = "5c3e8a1b" },
    },
    {
      started_at = 1793611060000,
      request = {
        id = ids[2], method = "PATCH", path = "/shop/v1/orders/" .. order, upstream_path = "/v1/orders/" .. order,
        headers = {
          host = "api.shop.example", ["content-type"] = "application/merge-patch+json", ["content-length"] = tostring(#patch),
        },
        body = patch,
      },
      response = {
        status = 200,
        headers = { ["content-type"] = "application/json; charset=utf-8", ["x-kong-request-id"] = ids[2] },
        chunks = { '{"id":"' .. order .. '","customerId":"cus_2001","status":"cancelled","currency":"EUR","total":550,'
          .. '"cancellationReason":"customer changed mind – ordered twice"}' },
      },
    },
  }
end
