// LD_PRELOAD shim for test/native-engine.test.ts: counts what the thread named "hbd-engine" must
// not do on its hot path — malloc/calloc/realloc calls, and files opened under /proc (fopen) — and
// writes "<allocations> <proc opens>" to $HBD_MALLOC_COUNT_FILE every 50 ms (from a thread of its
// own, without allocating). Built by the test with cc.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);

static atomic_ulong engineAllocs;
static atomic_ulong engineProcOpens;
static __thread int isEngine;  // 1 once this thread is known to be the engine

static int onEngine(void) {
  if (!isEngine) {
    char name[16] = "";
    prctl(PR_GET_NAME, name, 0, 0, 0);
    if (strcmp(name, "hbd-engine") != 0) return 0;
    isEngine = 1;
  }
  return 1;
}

static void count(void) {
  if (onEngine()) atomic_fetch_add(&engineAllocs, 1);
}

typedef FILE* (*fopen_fn)(const char*, const char*);

static FILE* countedFopen(const char* name, const char* path, const char* mode) {
  if (strncmp(path, "/proc/", 6) == 0 && onEngine()) atomic_fetch_add(&engineProcOpens, 1);
  static fopen_fn real[2];
  const int k = name[5] == '6';
  if (!real[k]) real[k] = (fopen_fn)dlsym(RTLD_NEXT, name);
  return real[k](path, mode);
}

FILE* fopen(const char* path, const char* mode) { return countedFopen("fopen", path, mode); }
FILE* fopen64(const char* path, const char* mode) { return countedFopen("fopen64", path, mode); }

void* malloc(size_t n) {
  count();
  return __libc_malloc(n);
}
void* calloc(size_t a, size_t b) {
  count();
  return __libc_calloc(a, b);
}
void* realloc(void* p, size_t n) {
  count();
  return __libc_realloc(p, n);
}

static void* writer(void* arg) {
  const char* file = arg;
  for (;;) {
    char text[48];
    const int len = snprintf(text, sizeof text, "%lu %lu\n", (unsigned long)atomic_load(&engineAllocs), (unsigned long)atomic_load(&engineProcOpens));
    const int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      if (write(fd, text, (size_t)len) < 0) {
      }
      close(fd);
    }
    usleep(50000);
  }
  return NULL;
}

__attribute__((constructor)) static void start(void) {
  const char* file = getenv("HBD_MALLOC_COUNT_FILE");
  if (!file) return;
  pthread_t t;
  pthread_create(&t, NULL, writer, (void*)file);
  pthread_detach(t);
}
