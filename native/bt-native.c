// bt's native part: two calls Node lacks, each with a JavaScript fallback
// (src/util/native.ts loads this when `npm ci` could build it).
//
// scanDir: one call lists a directory and lstats every entry in it, relative
// to the open directory (fstatat), and hands back the names and numbers packed
// in a few buffers. In JavaScript the same work is a readdir and then, per
// file, an lstat that resolves the whole path again and builds a BigIntStats
// of about twenty BigInts and Dates: most of the time of a walk. The walk
// (src/fsmgr/walk.ts, through list-dir.ts) decides everything else: order,
// ignore rules, what a kind of file means.
//
// syncFs: syncfs(2), below.
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// What the JavaScript side expects (src/util/native.ts LAYOUT): change it with the layout of
// scanDir's result or the calls' signatures, so that a stale build is not used.
#define LAYOUT 1

// Numbers per entry in the `nums` Float64Array; keep in step with src/util/native.ts.
enum { F_KIND, F_MODE, F_UID, F_GID, F_SIZE, F_MTIME_SEC, F_MTIME_NSEC, F_ERRNO, FIELDS };
// Kinds: a directory is not stat'ed (unless readdir does not say what it is); an error leaves errno.
enum { K_DIR = 0, K_FILE = 1, K_SYMLINK = 2, K_SPECIAL = 3, K_ERROR = 4 };

typedef struct {
  char *data;
  size_t len, cap;
} bytes_t;

static int grow(bytes_t *b, size_t more) {
  if (b->len + more <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + more) cap *= 2;
  char *p = realloc(b->data, cap);
  if (!p) return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

static int append(bytes_t *b, const void *src, size_t n) {
  if (n == 0) return 0;
  if (grow(b, n)) return -1;
  memcpy(b->data + b->len, src, n);
  b->len += n;
  return 0;
}

#define CHECK(call)                          \
  do {                                       \
    if ((call) != napi_ok) goto napi_failed; \
  } while (0)

static napi_value typed(napi_env env, napi_typedarray_type type, const bytes_t *b, size_t elem) {
  void *dst = NULL;
  napi_value ab, out;
  if (napi_create_arraybuffer(env, b->len, &dst, &ab) != napi_ok) return NULL;
  if (b->len) memcpy(dst, b->data, b->len);
  if (napi_create_typedarray(env, type, b->len / elem, ab, 0, &out) != napi_ok) return NULL;
  return out;
}

/**
 * scanDir(path: Buffer): number | { names: Uint8Array, ends: Uint32Array, nums: Float64Array, links: Uint8Array, linkEnds: Uint32Array }
 * A number is the errno of opening or reading the directory. Entries come in
 * readdir's order; `.` and `..` are left out. linkEnds has one end per entry
 * (a non-link's target is empty).
 */
static napi_value scan_dir(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result = NULL;
  void *pathData = NULL;
  size_t pathLen = 0;
  bytes_t names = {0}, ends = {0}, nums = {0}, links = {0}, linkEnds = {0};
  char *path = NULL;
  DIR *dir = NULL;
  int failure = 0;

  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool isBuffer = false;
  if (argc < 1 || napi_is_buffer(env, argv[0], &isBuffer) != napi_ok || !isBuffer) {
    napi_throw_type_error(env, NULL, "scanDir: path must be a Buffer");
    return NULL;
  }
  CHECK(napi_get_buffer_info(env, argv[0], &pathData, &pathLen));
  path = malloc(pathLen + 1);
  if (!path) goto out_of_memory;
  memcpy(path, pathData, pathLen);
  path[pathLen] = 0;

  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || !(dir = fdopendir(fd))) {
    failure = errno;
    if (fd >= 0) close(fd);
    goto finish;
  }
  int dfd = dirfd(dir);
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(dir);
    if (!e) {
      failure = errno;
      break;
    }
    const char *name = e->d_name;
    if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
    size_t nameLen = strlen(name);
    double f[FIELDS] = {0};
    char target[PATH_MAX];
    ssize_t targetLen = 0;
    if (e->d_type == DT_DIR) {
      f[F_KIND] = K_DIR;
    } else {
      struct stat st;
      if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        f[F_KIND] = K_ERROR;
        f[F_ERRNO] = errno;
      } else {
        f[F_MODE] = st.st_mode;
        f[F_UID] = st.st_uid;
        f[F_GID] = st.st_gid;
        f[F_SIZE] = (double)st.st_size;
        f[F_MTIME_SEC] = (double)st.st_mtim.tv_sec;
        f[F_MTIME_NSEC] = (double)st.st_mtim.tv_nsec;
        if (S_ISDIR(st.st_mode)) {
          f[F_KIND] = K_DIR;
        } else if (S_ISREG(st.st_mode)) {
          f[F_KIND] = K_FILE;
        } else if (S_ISLNK(st.st_mode)) {
          f[F_KIND] = K_SYMLINK;
          targetLen = readlinkat(dfd, name, target, sizeof target);
          if (targetLen < 0) {
            f[F_KIND] = K_ERROR;
            f[F_ERRNO] = errno;
            targetLen = 0;
          }
        } else {
          f[F_KIND] = K_SPECIAL;
        }
      }
    }
    if (names.len + nameLen > UINT32_MAX || links.len + (size_t)targetLen > UINT32_MAX) {
      failure = EOVERFLOW;  // offsets are 32-bit: 4 GiB of names in one directory
      break;
    }
    uint32_t end = (uint32_t)(names.len + nameLen);
    uint32_t linkEnd = (uint32_t)(links.len + (size_t)targetLen);
    if (append(&names, name, nameLen) || append(&ends, &end, sizeof end) || append(&nums, f, sizeof f) ||
        append(&links, target, (size_t)targetLen) || append(&linkEnds, &linkEnd, sizeof linkEnd)) {
      goto out_of_memory;
    }
  }

finish:
  if (failure) {
    CHECK(napi_create_int32(env, failure, &result));
  } else {
    napi_value v;
    CHECK(napi_create_object(env, &result));
    if (!(v = typed(env, napi_uint8_array, &names, 1))) goto napi_failed;
    CHECK(napi_set_named_property(env, result, "names", v));
    if (!(v = typed(env, napi_uint32_array, &ends, 4))) goto napi_failed;
    CHECK(napi_set_named_property(env, result, "ends", v));
    if (!(v = typed(env, napi_float64_array, &nums, 8))) goto napi_failed;
    CHECK(napi_set_named_property(env, result, "nums", v));
    if (!(v = typed(env, napi_uint8_array, &links, 1))) goto napi_failed;
    CHECK(napi_set_named_property(env, result, "links", v));
    if (!(v = typed(env, napi_uint32_array, &linkEnds, 4))) goto napi_failed;
    CHECK(napi_set_named_property(env, result, "linkEnds", v));
  }
  goto cleanup;

out_of_memory:
  napi_throw_error(env, "ENOMEM", "scanDir: out of memory");
  result = NULL;
  goto cleanup;
napi_failed:
  result = NULL;  // the pending exception, if any, propagates
cleanup:
  if (dir) closedir(dir);
  free(path);
  free(names.data);
  free(ends.data);
  free(nums.data);
  free(links.data);
  free(linkEnds.data);
  return result;
}

// syncfs(2) on the threadpool. Node has no binding for it, and the other way,
// a `sync -f` child per flush, forks the whole process each time.
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *path;
  int err;
} sync_job;

static void sync_execute(napi_env env, void *data) {
  sync_job *job = data;
  int fd = open(job->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    job->err = errno;
    return;
  }
  if (syncfs(fd) != 0) job->err = errno;
  close(fd);
}

static void sync_complete(napi_env env, napi_status status, void *data) {
  sync_job *job = data;
  napi_value code;
  if (status != napi_ok) job->err = EIO;
  if (napi_create_int32(env, job->err, &code) == napi_ok) napi_resolve_deferred(env, job->deferred, code);
  napi_delete_async_work(env, job->work);
  free(job->path);
  free(job);
}

/** syncFs(path: string): Promise<number>: 0 once the filesystem holding path is synced, else the errno. */
static napi_value sync_fs(napi_env env, napi_callback_info info) {
  size_t argc = 1, len = 0;
  napi_value argv[1], promise, name;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "syncFs: path must be a string");
    return NULL;
  }
  sync_job *job = calloc(1, sizeof *job);
  if (!job || !(job->path = malloc(len + 1)) || napi_get_value_string_utf8(env, argv[0], job->path, len + 1, &len) != napi_ok) {
    if (job) free(job->path);
    free(job);
    napi_throw_error(env, "ENOMEM", "syncFs: out of memory");
    return NULL;
  }
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok) {
    free(job->path);
    free(job);
    return NULL;
  }
  // From here the promise exists: every failure settles it, so that no caller waits forever.
  if (napi_create_string_utf8(env, "bt.syncFs", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, sync_execute, sync_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    if (job->work) napi_delete_async_work(env, job->work);
    napi_value code;
    if (napi_create_int32(env, EIO, &code) == napi_ok) napi_resolve_deferred(env, job->deferred, code);
    free(job->path);
    free(job);
  }
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "scanDir", NAPI_AUTO_LENGTH, scan_dir, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "scanDir", fn) != napi_ok) return NULL;
  if (napi_create_function(env, "syncFs", NAPI_AUTO_LENGTH, sync_fs, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "syncFs", fn) != napi_ok) return NULL;
  napi_value layout;
  if (napi_create_int32(env, LAYOUT, &layout) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "layout", layout) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
