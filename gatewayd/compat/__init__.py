"""Compatibility surfaces: other gateways' HTTP APIs, so tools that already speak them work unchanged.

- `smseagle`: SMSEagle's JSON-RPC (POST /jsonrpc/sms) and API v2 (/api/v2/messages/sms);
- `android`: SMS Gateway for Android's third-party API (/3rdparty/v1).

Each is an adapter and nothing more: it parses the other API's request into a `Draft`, hands it to
the outbound service through `sending.submit` (the API key's scopes, rate limit and daily cap, the
idempotency store) and renders the answer in the other API's shape. Every rule (personalisation off,
STOP mention, transliteration, segment cap, line, opt-outs, quiet hours, caps) is the services'.
"""
