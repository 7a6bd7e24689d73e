// Node-API conversion between the JS shapes of lib/wire/types.ts and the plain C++ codec
// types of codec.h, object by object (the engine's surface uses it). The codec's own exports
// take the cheaper packed form of packed.h. Argument problems throw Napi::TypeError naming
// the argument path.
#pragma once
#include <napi.h>

#include "codec.h"

namespace hbd {

Message MessageFromJs(const Napi::Env& env, const Napi::Value& v);
// `allow_null` for decode, where null means "do not verify".
bool AuthKeysFromJs(const Napi::Env& env, const Napi::Value& v, bool allow_null, AuthKeys* out);
WireFormat WireFormatFromJs(const Napi::Env& env, const Napi::Value& v);

// The Field[] of lib/wire/types.ts (the engine's status/message events use it too).
Napi::Array MessageToJs(const Napi::Env& env, const Message& m);
// An Error with .code, .offset and .detail (lib/wire/native-codec.ts makes it a DecodeError).
Napi::Error DecodeErrorToJs(const Napi::Env& env, const DecodeError& e);
// An Error with .path and .detail (lib/wire/native-codec.ts makes it an EncodeError).
Napi::Error EncodeErrorToJs(const Napi::Env& env, const EncodeError& e);

}  // namespace hbd
