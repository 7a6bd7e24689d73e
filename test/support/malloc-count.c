// LD_PRELOAD shim for test/native-engine.test.ts: counts malloc/calloc/realloc calls made by the
// thread named "hbd-engine" and writes the count to $HBD_MALLOC_COUNT_FILE every 50 ms (from a thread
// of its own, without allocating). Built by the test with cc.
#define _GNU_SOURCE
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
static __thread int isEngine;  // 1 once this thread is known to be the engine

static void count(void) {
  if (!isEngine) {
    char name[16] = "";
    prctl(PR_GET_NAME, name, 0, 0, 0);
    if (strcmp(name, "hbd-engine") != 0) return;
    isEngine = 1;
  }
  atomic_fetch_add(&engineAllocs, 1);
}

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
    char text[32];
    const int len = snprintf(text, sizeof text, "%lu\n", (unsigned long)atomic_load(&engineAllocs));
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
