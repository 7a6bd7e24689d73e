// A failed system call as data: it crosses the engine thread and becomes a Node-style error
// (`.syscall`, `.code` = errno name) or a media-error event in JavaScript.
#pragma once
#include <cerrno>
#include <cstring>
#include <string>

namespace hbd {

struct SysError {
  std::string syscall;  // "socket", "setsockopt(SO_BINDTODEVICE)", "ioctl(SIOCGIFBRDADDR)", …
  int err = 0;
  std::string detail;   // what we were doing, e.g. "bcast eth0: receive socket"
};

// "ENODEV" for ENODEV: the name Node uses in error.code.
inline std::string ErrnoName(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  if (const char* n = strerrorname_np(err)) return n;
#endif
  return "errno " + std::to_string(err);
}

// "bcast eth0: receive socket: setsockopt(SO_BINDTODEVICE) failed: No such device (ENODEV)"
inline std::string Describe(const SysError& e) {
  return e.detail + ": " + e.syscall + " failed: " + std::strerror(e.err) + " (" + ErrnoName(e.err) + ")";
}

inline SysError LastError(std::string syscall, std::string detail) { return SysError{std::move(syscall), errno, std::move(detail)}; }

}  // namespace hbd
