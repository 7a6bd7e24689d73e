// Module entry: the raw Node-API surface of hbd's native core. Kept small and typed
// (lib/native.ts holds the matching TypeScript declaration); the logic lives in the other files.
#include <napi.h>

#include <cstring>
#include <variant>

#include "actions_js.h"
#include "auth.h"
#include "codec.h"
#include "convert.h"
#include "packed.h"
#include "engine_js.h"
#include "guarded.h"
#include "liveness_js.h"

namespace {

hbd::AuthMethod MethodArg(const Napi::Env& env, const Napi::Value& v) {
  hbd::AuthMethod m;
  if (!v.IsString() || !hbd::ParseAuthMethod(v.As<Napi::String>().Utf8Value(), &m)) {
    throw Napi::TypeError::New(env, "auth method must be one of crc, md5, sha1, sha256");
  }
  return m;
}

Napi::Buffer<uint8_t> BufferArg(const Napi::Env& env, const Napi::Value& v, const char* what) {
  if (!v.IsBuffer()) throw Napi::TypeError::New(env, std::string(what) + " must be a Buffer");
  return v.As<Napi::Buffer<uint8_t>>();
}

// authToken(method, key: Buffer, data: Buffer) -> string
Napi::Value AuthTokenJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  hbd::AuthMethod m = MethodArg(env, info[0]);
  auto key = BufferArg(env, info[1], "key");
  auto data = BufferArg(env, info[2], "data");
  return Napi::String::New(env, hbd::AuthToken(m, key.Data(), key.Length(), data.Data(), data.Length()));
}

// The packed forms of native/packed.h; lib/wire/native-pack.ts writes and reads them.
void PackedKeysArg(const Napi::Env& env, const Napi::Value& v, hbd::AuthKeys* keys) {
  auto b = BufferArg(env, v, "keys (packed)");
  std::string error;
  if (!hbd::UnpackKeys(b.Data(), b.Length(), keys, &error)) throw Napi::TypeError::New(env, "keys (packed) is malformed: " + error);
}

// Results go into the caller's reusable `out` Buffer: creating a Buffer through Node-API
// costs about a microsecond, a pooled copy in JS a fraction of that. Returns the byte count,
// or minus the size needed when `out` is too small (the caller grows it and calls again).
Napi::Value Deliver(const Napi::Env& env, const Napi::Value& outArg, const std::string& bytes) {
  auto out = BufferArg(env, outArg, "out");
  const double n = static_cast<double>(bytes.size());
  if (bytes.size() > out.Length()) return Napi::Number::New(env, -n);
  std::memcpy(out.Data(), bytes.data(), bytes.size());
  return Napi::Number::New(env, n);
}

// decodePacked(packet: Buffer, keys: Buffer | null, out: Buffer) -> number: a packed decode
// result in `out`; bad input throws an Error with .code (DecodeErrorCode), .offset and .detail.
Napi::Value DecodePackedJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return hbd::Guarded(env, "hbd native codec", [&]() -> Napi::Value {
    auto packet = BufferArg(env, info[0], "packet");
    hbd::AuthKeys keys;
    const bool verify = !info[1].IsNull();
    if (verify) PackedKeysArg(env, info[1], &keys);
    auto r = hbd::Decode(packet.Data(), packet.Length(), verify ? &keys : nullptr);
    if (const auto* e = std::get_if<hbd::DecodeError>(&r)) throw hbd::DecodeErrorToJs(env, *e);
    return Deliver(env, info[2], hbd::PackDecoded(std::get<hbd::Decoded>(r)));
  });
}

// encodePacked(message: Buffer, format: WireFormat, keys: Buffer, out: Buffer) -> number: the
// packet in `out`; a message the format cannot carry throws an Error with .path and .detail.
Napi::Value EncodePackedJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return hbd::Guarded(env, "hbd native codec", [&]() -> Napi::Value {
    auto packed = BufferArg(env, info[0], "message (packed)");
    hbd::Message message;
    std::string error;
    if (!hbd::UnpackMessage(packed.Data(), packed.Length(), &message, &error)) throw Napi::TypeError::New(env, "message (packed) is malformed: " + error);
    hbd::WireFormat format = hbd::WireFormatFromJs(env, info[1]);
    hbd::AuthKeys keys;
    PackedKeysArg(env, info[2], &keys);
    auto r = hbd::Encode(message, format, keys);
    if (const auto* e = std::get_if<hbd::EncodeError>(&r)) throw hbd::EncodeErrorToJs(env, *e);
    return Deliver(env, info[3], std::get<std::string>(r));
  });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  exports.Set("authToken", Napi::Function::New(env, AuthTokenJs, "authToken"));
  exports.Set("decodePacked", Napi::Function::New(env, DecodePackedJs, "decodePacked"));
  exports.Set("encodePacked", Napi::Function::New(env, EncodePackedJs, "encodePacked"));
  hbd::InitLivenessTracker(env, exports);
  hbd::InitEngine(env, exports);
  hbd::InitActions(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(hbd, Init)
