// Reading option objects handed over from JavaScript: every check throws a TypeError that names
// the option and what it expected, so that bad input is a clear error and never a crash.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hbd {

// `where` prefixes every message, e.g. "Engine options".
double NumberProp(const Napi::Object& o, const std::string& where, const char* name, double min, double max);
int64_t IntegerProp(const Napi::Object& o, const std::string& where, const char* name, int64_t min, int64_t max);
std::string StringProp(const Napi::Object& o, const std::string& where, const char* name, bool allowEmpty = false);
bool BoolProp(const Napi::Object& o, const std::string& where, const char* name);
std::vector<uint8_t> BufferProp(const Napi::Object& o, const std::string& where, const char* name);
std::vector<std::string> StringArrayProp(const Napi::Object& o, const std::string& where, const char* name);
Napi::Object ObjectArg(const Napi::Env& env, const Napi::Value& v, const std::string& what);

// A short description of a received value for error messages: `-1`, `"eth0"`, `undefined`, `an object`.
std::string Describe(const Napi::Value& v);

// Integers beyond 2^53 lose precision as JS numbers; the wire values (seq, generation) never get there.
inline Napi::Number JsInt(const Napi::Env& env, int64_t v) { return Napi::Number::New(env, static_cast<double>(v)); }

}  // namespace hbd
