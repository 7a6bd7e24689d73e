// The JavaScript face of the address actions (native/addr.h, native/announce.h): synchronous
// add/remove/list (a netlink round trip takes microseconds) and announce bursts that run on a
// native thread of their own, never on the event loop. lib/resources/address-native.ts wraps it
// into an AddressBackend. VipFromJs/VipToJs are shared with the engine's takeover plans.
#pragma once
#include <napi.h>

#include <string>

#include "addr.h"
#include "sys_error.h"

namespace hbd {

// A lib/resources/address.ts VipSpec; TypeErrors name `where` and the field.
Vip VipFromJs(const Napi::Env& env, const Napi::Value& v, const std::string& where);
Napi::Object VipToJs(const Napi::Env& env, const Vip& vip);
// A Node-style error: .code (errno name), .syscall, .errno (negative), message from Describe().
Napi::Error SysErrorToJs(const Napi::Env& env, const SysError& e);

void InitActions(Napi::Env env, Napi::Object exports);

}  // namespace hbd
