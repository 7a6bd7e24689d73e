// Module entry: the raw Node-API surface of hbd's native core. Kept small and typed
// (lib/native.ts holds the matching TypeScript declaration); the logic lives in the other files.
#include <napi.h>

#include "auth.h"

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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  exports.Set("authToken", Napi::Function::New(env, AuthTokenJs, "authToken"));
  return exports;
}

}  // namespace

NODE_API_MODULE(hbd, Init)
