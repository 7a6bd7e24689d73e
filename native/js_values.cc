#include "js_values.h"

#include <cmath>
#include <cstdio>

namespace hbd {

namespace {

[[noreturn]] void Fail(const Napi::Env& env, const std::string& where, const char* name, const std::string& expected, const Napi::Value& got) {
  throw Napi::TypeError::New(env, where + "." + name + " must be " + expected + " (got " + Describe(got) + ")");
}

std::string Num(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", d);  // 86400000, not 8.64e+07
  return buf;
}

}  // namespace

std::string Describe(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsNumber()) return Num(v.As<Napi::Number>().DoubleValue());
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? "true" : "false";
  if (v.IsString()) {
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s.size() > 40) s = s.substr(0, 40) + "…";
    return "\"" + s + "\"";
  }
  if (v.IsBuffer()) return "a Buffer of " + std::to_string(v.As<Napi::Buffer<uint8_t>>().Length()) + " bytes";
  if (v.IsArray()) return "an array";
  if (v.IsFunction()) return "a function";
  return "an object";
}

double NumberProp(const Napi::Object& o, const std::string& where, const char* name, double min, double max) {
  Napi::Value v = o.Get(name);
  const std::string range = "a number from " + Num(min) + " to " + Num(max);
  if (!v.IsNumber()) Fail(o.Env(), where, name, range, v);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d < min || d > max) Fail(o.Env(), where, name, range, v);
  return d;
}

int64_t IntegerProp(const Napi::Object& o, const std::string& where, const char* name, int64_t min, int64_t max) {
  Napi::Value v = o.Get(name);
  const std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!v.IsNumber()) Fail(o.Env(), where, name, range, v);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d || d < static_cast<double>(min) || d > static_cast<double>(max)) Fail(o.Env(), where, name, range, v);
  return static_cast<int64_t>(d);
}

std::string StringProp(const Napi::Object& o, const std::string& where, const char* name, bool allowEmpty) {
  Napi::Value v = o.Get(name);
  const char* expected = allowEmpty ? "a string" : "a non-empty string";
  if (!v.IsString()) Fail(o.Env(), where, name, expected, v);
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.empty() && !allowEmpty) Fail(o.Env(), where, name, expected, v);
  return s;
}

bool BoolProp(const Napi::Object& o, const std::string& where, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsBoolean()) Fail(o.Env(), where, name, "true or false", v);
  return v.As<Napi::Boolean>().Value();
}

std::vector<uint8_t> BufferProp(const Napi::Object& o, const std::string& where, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsBuffer()) Fail(o.Env(), where, name, "a Buffer", v);
  auto b = v.As<Napi::Buffer<uint8_t>>();
  return std::vector<uint8_t>(b.Data(), b.Data() + b.Length());
}

std::vector<std::string> StringArrayProp(const Napi::Object& o, const std::string& where, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsArray()) Fail(o.Env(), where, name, "an array of non-empty strings", v);
  auto a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsString() || e.As<Napi::String>().Utf8Value().empty()) {
      Fail(o.Env(), where, (std::string(name) + "[" + std::to_string(i) + "]").c_str(), "a non-empty string", e);
    }
    out.push_back(e.As<Napi::String>().Utf8Value());
  }
  return out;
}

Napi::Object ObjectArg(const Napi::Env& env, const Napi::Value& v, const std::string& what) {
  if (!v.IsObject() || v.IsArray() || v.IsFunction()) throw Napi::TypeError::New(env, what + " must be an object (got " + Describe(v) + ")");
  return v.As<Napi::Object>();
}

}  // namespace hbd
