// Node-API entry points run C++ that may throw more than Napi::Error (OpenSSL failing inside HMAC,
// std::bad_alloc): such an exception escaping a callback would terminate the process. Guarded turns
// it into a JavaScript Error prefixed with `what`.
#pragma once
#include <napi.h>

#include <exception>
#include <string>

namespace hbd {

template <typename F>
auto Guarded(const Napi::Env& env, const char* what, F body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string(what) + ": " + e.what());
  }
}

}  // namespace hbd
