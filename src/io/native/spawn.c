/*
 * spawnCommand: start a check or notify command the way src/io/command.ts's runCommand needs it,
 * without Node's child_process. Node forks (libuv uses fork(), not vfork): the kernel copies the
 * page tables of a 60-80 MB process, which is most of the ~7 ms of the parent's CPU a spawn costs,
 * every 2 s for the seed's `killall -0` check. Here the child shares the parent's memory until it
 * execs (clone with CLONE_VM | CLONE_VFORK, as glibc's posix_spawn does), so nothing is copied.
 * native-notes/spawn.md says why this is not posix_spawn itself and what the fallback is.
 *
 *   spawnCommand(file, argv, env | null, uid, gid, maxOutput, onExit): pid
 *     onExit(exitCode: number | null, signal: number, output: Buffer)   // once, from the event loop
 *     throws errno names: ENOENT, EACCES, EPERM (the exec or the user switch failed), ENOSYS (no
 *     CLONE_PIDFD: kernel before 5.2), EMFILE, ...
 *   commandOutput(pid): Buffer | undefined   // what a child still running has written so far
 *
 * What the child gets, as libuv gives it to a `detached` child with stdio ['ignore', pipe, pipe]:
 * its own session and process group (setsid), stdin from /dev/null, stdout and stderr into one
 * pipe, cwd /, every signal disposition back to default and an empty signal mask, with uid/gid:
 * no supplementary groups, then setgid, then setuid. Every other descriptor is closed on exec.
 *
 * Reaping is ours: libuv's SIGCHLD handler waits only for the children it started itself. The pid
 * comes with a pidfd (CLONE_PIDFD), which becomes readable when the child exits; a uv_poll on it
 * wakes the loop, and waitid() reaps exactly that child. Its output pipe is drained by a second
 * uv_poll so a chatty command never blocks; the first maxOutput bytes are kept.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

static napi_value spawn_throw(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  const char *code = strerrorname_np(err);
  napi_throw_error(env, code != NULL ? code : "EIO", msg);
  return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* The child, between clone and execve                                                          */
/* ------------------------------------------------------------------------------------------ */

struct child_args {
  const char *file;
  char *const *argv;
  char *const *envp;
  long long uid;
  long long gid;
  int stdin_fd;
  int out_fd;
  /* Written by the child when it fails before or in execve; the parent reads it once the child
   * has exec'd or exited (CLONE_VFORK), as glibc's posix_spawn reports errors. */
  volatile int err;
};

/* Mark every descriptor from 3 up close-on-exec without allocating: getdents64 on /proc/self/fd
 * into a buffer on this stack. Only for kernels without close_range (before 5.11). */
static void cloexec_by_listing(void) {
  int dir = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;
  char buffer[4096];
  for (;;) {
    long got = syscall(SYS_getdents64, dir, buffer, sizeof buffer);
    if (got <= 0) break;
    for (long offset = 0; offset < got;) {
      struct {
        unsigned long long ino;
        long long off;
        unsigned short reclen;
        unsigned char type;
        char name[];
      } *entry = (void *)(buffer + offset);
      int fd = 0;
      const char *c = entry->name;
      if (*c >= '0' && *c <= '9') {
        while (*c >= '0' && *c <= '9') fd = fd * 10 + (*c++ - '0');
        if (fd >= 3 && fd != dir) syscall(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
      }
      offset += entry->reclen;
    }
  }
  syscall(SYS_close, dir);
}

static void child_fail(struct child_args *args) {
  args->err = errno != 0 ? errno : EIO;
  syscall(SYS_exit_group, 127);
}

static int move_fd(int from, int to) {
  if (from == to) return (int)syscall(SYS_fcntl, to, F_SETFD, 0); /* keep it across exec */
  return (int)syscall(SYS_dup3, from, to, 0) < 0 ? -1 : 0;
}

/*
 * Runs on its own stack in the parent's memory until execve: system calls only (no malloc, no
 * locks, no glibc wrapper that looks at other threads, as setuid() does to change every thread's
 * ids; sigaction and sigprocmask are plain system calls in glibc, its posix_spawn child uses them),
 * and all signals blocked by the parent until the dispositions are back to default, so no handler
 * of the daemon can run in here.
 */
static int child_main(void *opaque) {
  struct child_args *args = opaque;
  if (syscall(SYS_setsid) < 0) child_fail(args);
  if (move_fd(args->stdin_fd, 0) < 0 || move_fd(args->out_fd, 1) < 0 || move_fd(args->out_fd, 2) < 0) child_fail(args);
  if (syscall(SYS_chdir, "/") < 0) child_fail(args);
  if (args->uid >= 0 || args->gid >= 0) {
    /* libuv's order; setgroups fails without CAP_SETGID, and then so does what follows. */
    syscall(SYS_setgroups, 0, NULL);
    if (args->gid >= 0 && syscall(SYS_setgid, (gid_t)args->gid) < 0) child_fail(args);
    if (args->uid >= 0 && syscall(SYS_setuid, (uid_t)args->uid) < 0) child_fail(args);
  }
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) cloexec_by_listing();
#else
  cloexec_by_listing();
#endif
  /* The signal handler table is the child's own (no CLONE_SIGHAND): resetting it here leaves the
   * daemon's handlers alone. 1..31 as libuv does (32 and up are glibc's and real-time signals). */
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = SIG_DFL;
  for (int n = 1; n < 32; n++) {
    if (n == SIGKILL || n == SIGSTOP) continue;
    sigaction(n, &action, NULL);
  }
  sigset_t empty;
  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, NULL);
  syscall(SYS_execve, args->file, args->argv, args->envp);
  child_fail(args);
  return 127;
}

/* One stack for every child of a thread: the calling thread is suspended until the child has
 * exec'd (CLONE_VFORK), so two children never use it at once. Per thread, in case the addon is
 * loaded by worker threads too (the test runner's), which would otherwise share it. */
#define CHILD_STACK_BYTES (128 * 1024)
static __thread char *child_stack = NULL;
static int dev_null = -1;

/* ------------------------------------------------------------------------------------------ */
/* The parent: one record per running child                                                     */
/* ------------------------------------------------------------------------------------------ */

typedef struct child_s {
  struct child_s *next;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  pid_t pid;
  int pidfd;
  int out_fd;
  uv_poll_t pid_poll;
  uv_poll_t out_poll;
  int out_polling;
  int open_handles;
  size_t kept_max;
  size_t kept_len;
  char *kept;
} child_t;

/* Children not reaped yet, for commandOutput(pid): a handful at most (one per check and notify
 * queue). Per thread like the event loop they belong to. */
static __thread child_t *running_children = NULL;

static void unlink_child(child_t *child) {
  for (child_t **p = &running_children; *p != NULL; p = &(*p)->next) {
    if (*p == child) {
      *p = child->next;
      return;
    }
  }
}

static void child_free(child_t *child) {
  if (child->pidfd >= 0) close(child->pidfd);
  if (child->out_fd >= 0) close(child->out_fd);
  napi_delete_reference(child->env, child->callback);
  napi_async_destroy(child->env, child->context);
  free(child->kept);
  free(child);
}

static void on_handle_closed(uv_handle_t *handle) {
  child_t *child = handle->data;
  if (--child->open_handles == 0) child_free(child);
}

/* Read what the pipe holds now; 1 at end of file (every writer gone) or on an error. */
static int drain_output(child_t *child) {
  char buffer[16384];
  for (;;) {
    ssize_t got = read(child->out_fd, buffer, sizeof buffer);
    if (got > 0) {
      size_t room = child->kept_max - child->kept_len;
      size_t take = (size_t)got < room ? (size_t)got : room;
      memcpy(child->kept + child->kept_len, buffer, take);
      child->kept_len += take;
      continue;
    }
    if (got == 0) return 1;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : 1;
  }
}

static void on_output(uv_poll_t *handle, int status, int events) {
  (void)events;
  child_t *child = handle->data;
  /* At end of file epoll keeps reporting the pipe readable: stop looking at it. */
  if (status < 0 || drain_output(child)) {
    uv_poll_stop(handle);
    child->out_polling = 0;
  }
}

static void on_exit_ready(uv_poll_t *handle, int status, int events) {
  (void)status;
  (void)events;
  child_t *child = handle->data;
  siginfo_t info;
  memset(&info, 0, sizeof info);
  if (waitid(P_PID, (id_t)child->pid, &info, WEXITED | WNOHANG) != 0) {
    if (errno == EINTR) return;
    /* ECHILD: someone else reaped it (SIGCHLD set to SIG_IGN); report an unknown end. */
    info.si_pid = child->pid;
    info.si_code = 0;
  }
  if (info.si_pid == 0) return; /* not yet: a spurious wake-up */
  unlink_child(child);

  /* Output written before the exit is still in the pipe when the poll fires first. */
  if (child->out_polling) drain_output(child);

  napi_env env = child->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value argv[3], callback, receiver, result;
  if (info.si_code == CLD_EXITED) {
    napi_create_int32(env, info.si_status, &argv[0]);
    napi_create_int32(env, 0, &argv[1]);
  } else {
    napi_get_null(env, &argv[0]);
    napi_create_int32(env, info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED ? info.si_status : 0, &argv[1]);
  }
  napi_create_buffer_copy(env, child->kept_len, child->kept, NULL, &argv[2]);
  napi_get_reference_value(env, child->callback, &callback);
  napi_get_global(env, &receiver);

  uv_poll_stop(&child->pid_poll);
  if (child->out_polling) uv_poll_stop(&child->out_poll);
  child->out_polling = 0;
  uv_close((uv_handle_t *)&child->pid_poll, on_handle_closed);
  uv_close((uv_handle_t *)&child->out_poll, on_handle_closed);

  if (napi_make_callback(env, child->context, receiver, callback, 3, argv, &result) == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
  napi_close_handle_scope(env, scope);
}

/* ------------------------------------------------------------------------------------------ */
/* spawnCommand                                                                                 */
/* ------------------------------------------------------------------------------------------ */

static char *string_arg(napi_env env, napi_value value) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) return NULL;
  char *text = malloc(length + 1);
  if (text == NULL) return NULL;
  napi_get_value_string_utf8(env, value, text, length + 1, &length);
  if (strlen(text) != length) { /* an embedded NUL would silently cut the argument */
    free(text);
    return NULL;
  }
  return text;
}

static void free_strings(char **list) {
  if (list == NULL) return;
  for (char **p = list; *p != NULL; p++) free(*p);
  free(list);
}

/* A JS array of strings as a NULL-terminated char*[]; NULL on a bad element. */
static char **string_array(napi_env env, napi_value array) {
  bool is_array = false;
  uint32_t count = 0;
  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array) return NULL;
  napi_get_array_length(env, array, &count);
  char **list = calloc((size_t)count + 1, sizeof *list);
  if (list == NULL) return NULL;
  for (uint32_t i = 0; i < count; i++) {
    napi_value item;
    napi_valuetype type;
    if (napi_get_element(env, array, i, &item) != napi_ok || napi_typeof(env, item, &type) != napi_ok || type != napi_string ||
        (list[i] = string_arg(env, item)) == NULL) {
      free_strings(list);
      return NULL;
    }
  }
  return list;
}

static napi_value spawn_command(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value js[7];
  napi_valuetype env_type, callback_type;
  int64_t uid = -1, gid = -1;
  uint32_t max_output = 0;
  if (napi_get_cb_info(env, info, &argc, js, NULL, NULL) != napi_ok || argc < 7 || napi_typeof(env, js[2], &env_type) != napi_ok ||
      napi_get_value_int64(env, js[3], &uid) != napi_ok || napi_get_value_int64(env, js[4], &gid) != napi_ok ||
      napi_get_value_uint32(env, js[5], &max_output) != napi_ok || napi_typeof(env, js[6], &callback_type) != napi_ok ||
      callback_type != napi_function || uid > 0xfffffffeLL || gid > 0xfffffffeLL) {
    napi_throw_type_error(env, "EINVAL", "spawnCommand(file, argv[], env[] | null, uid, gid, maxOutput, onExit)");
    return NULL;
  }

  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == NULL) return spawn_throw(env, "napi_get_uv_event_loop", EIO);
  if (child_stack == NULL) {
    void *stack = mmap(NULL, CHILD_STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return spawn_throw(env, "mmap(child stack)", errno);
    child_stack = stack;
  }
  if (dev_null < 0) {
    dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (dev_null < 0) return spawn_throw(env, "open(/dev/null)", errno);
  }

  char *file = string_arg(env, js[0]);
  char **argv = string_array(env, js[1]);
  char **envp = env_type == napi_null || env_type == napi_undefined ? NULL : string_array(env, js[2]);
  if (file == NULL || argv == NULL || argv[0] == NULL || (envp == NULL && env_type != napi_null && env_type != napi_undefined)) {
    free(file);
    free_strings(argv);
    free_strings(envp);
    napi_throw_type_error(env, "EINVAL", "spawnCommand: file, argv and env must be strings without NUL bytes, argv not empty");
    return NULL;
  }

  child_t *child = calloc(1, sizeof *child);
  char *kept = malloc(max_output > 0 ? max_output : 1);
  int pipe_fds[2] = { -1, -1 };
  napi_value pid_value = NULL;
  if (child == NULL || kept == NULL) {
    free(child);
    free(kept);
    spawn_throw(env, "spawnCommand", ENOMEM);
    goto out;
  }
  child->kept = kept;
  child->kept_max = max_output;
  child->pidfd = -1;
  child->out_fd = -1;
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    spawn_throw(env, "pipe2", errno);
    free(kept);
    free(child);
    goto out;
  }

  struct child_args args = {
    .file = file, .argv = argv, .envp = envp != NULL ? envp : environ, .uid = uid, .gid = gid, .stdin_fd = dev_null, .out_fd = pipe_fds[1], .err = 0,
  };
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int pidfd = -1;
  pid_t pid = clone(child_main, child_stack + CHILD_STACK_BYTES, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &args, &pidfd);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(pipe_fds[1]);

  if (pid < 0) {
    close(pipe_fds[0]);
    free(kept);
    free(child);
    /* EINVAL: a kernel without CLONE_PIDFD (before 5.2); the caller falls back to Node's spawn. */
    spawn_throw(env, "clone", clone_errno == EINVAL ? ENOSYS : clone_errno);
    goto out;
  }
  if (args.err != 0) {
    /* The child exited before or in execve; it is a zombie now, and ours to reap. */
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    close(pidfd);
    close(pipe_fds[0]);
    free(kept);
    free(child);
    spawn_throw(env, "spawn", args.err);
    goto out;
  }

  child->env = env;
  child->pid = pid;
  child->pidfd = pidfd;
  child->out_fd = pipe_fds[0];
  fcntl(child->out_fd, F_SETFL, fcntl(child->out_fd, F_GETFL) | O_NONBLOCK);
  napi_create_reference(env, js[6], 1, &child->callback);
  napi_value resource, resource_name;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "vrrpd.spawnCommand", NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, resource, resource_name, &child->context);
  uv_poll_init(loop, &child->pid_poll, pidfd);
  uv_poll_init(loop, &child->out_poll, child->out_fd);
  child->pid_poll.data = child;
  child->out_poll.data = child;
  child->open_handles = 2;
  uv_poll_start(&child->pid_poll, UV_READABLE, on_exit_ready);
  uv_poll_start(&child->out_poll, UV_READABLE, on_output);
  child->out_polling = 1;
  child->next = running_children;
  running_children = child;
  napi_create_int32(env, pid, &pid_value);

out:
  free(file);
  free_strings(argv);
  free_strings(envp);
  return pid_value;
}

/* commandOutput(pid): the output kept so far of a running child (for the log line of a timed-out
 * command, which is reported before it exits); undefined when no such child runs. */
static napi_value command_output(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value js[1], result;
  int32_t pid = 0;
  if (napi_get_cb_info(env, info, &argc, js, NULL, NULL) != napi_ok || argc < 1 || napi_get_value_int32(env, js[0], &pid) != napi_ok) {
    napi_throw_type_error(env, "EINVAL", "commandOutput(pid)");
    return NULL;
  }
  for (child_t *child = running_children; child != NULL; child = child->next) {
    if (child->pid != pid) continue;
    if (child->out_polling && drain_output(child)) {
      uv_poll_stop(&child->out_poll);
      child->out_polling = 0;
    }
    napi_create_buffer_copy(env, child->kept_len, child->kept, NULL, &result);
    return result;
  }
  napi_get_undefined(env, &result);
  return result;
}

void vrrpd_register_spawn(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "spawnCommand", NAPI_AUTO_LENGTH, spawn_command, NULL, &fn);
  napi_set_named_property(env, exports, "spawnCommand", fn);
  napi_create_function(env, "commandOutput", NAPI_AUTO_LENGTH, command_output, NULL, &fn);
  napi_set_named_property(env, exports, "commandOutput", fn);
}
