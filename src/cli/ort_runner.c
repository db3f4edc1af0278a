/* ort_runner.c — timing models in ONNX Runtime for `onnxq compare --ort`,
 * `onnxq static --ort` and `onnxq bench --ort`.
 *
 * onnxq does not link ONNX Runtime: it runs the test oracle
 * (tests/oracle/run.js, onnxruntime-node 1.30) as `node run.js MODEL
 * --bench N --threads T --input NAME=FILE.npy ...` and reads the
 * "ort_median_ms=X" line it prints.  The inputs are written once as .npy to
 * a temporary folder so that every model timed (and onnxq, which timed the
 * same tensors in memory) sees identical values; the folder is removed
 * before returning.  One copy of this lives here so every command finds the
 * runner the same way and reports the same errors. */
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "onnxq/data.h"
#include "oq_util.h"

extern char **environ;

#define NEEDS "--ort needs node and onnxruntime-node (run scripts/deps.sh)"

char *cli_ort_runner(const char *cmd, const char *opt)
{
    const char *given = opt && opt[0] ? opt : getenv("ONNXQ_ORT_RUNNER");
    if (given && given[0]) {
        /* an explicit path that is wrong is an error, not a reason to
         * quietly use another copy */
        if (access(given, R_OK) != 0) {
            cli_fail(cmd, "%s: %s; " NEEDS " — set %s to tests/oracle/run.js",
                     given, strerror(errno),
                     opt && opt[0] ? "--ort-runner" : "ONNXQ_ORT_RUNNER");
            return NULL;
        }
        return oq_strdup(given);
    }
#ifdef ONNXQ_ORT_RUNNER_DEFAULT
    if (access(ONNXQ_ORT_RUNNER_DEFAULT, R_OK) == 0)
        return oq_strdup(ONNXQ_ORT_RUNNER_DEFAULT);
#endif
    /* an installed tree: share/.. is not laid out yet, so only the build
     * tree's neighbour is tried */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            char *p = oq_path_join(exe, "../tests/oracle/run.js");
            if (p && access(p, R_OK) == 0)
                return p;
            free(p);
        }
    }
    cli_fail(cmd, NEEDS " — set ONNXQ_ORT_RUNNER to tests/oracle/run.js");
    return NULL;
}

/* Runs node RUNJS MODEL --bench runs --threads t --input NAME=FILE...; the
 * median is parsed from "ort_median_ms=X".  msg gets the line that explains
 * a failure. */
static int bench_one(const char *runjs, const char *model, char **pairs,
                     size_t n_pairs, unsigned long long runs, int threads,
                     double *median, char *msg, size_t msg_size)
{
    const char *node = getenv("ONNXQ_NODE");
    if (!node || !node[0])
        node = "node";
    char runs_s[32], thr_s[32];
    snprintf(runs_s, sizeof runs_s, "%llu", runs);
    snprintf(thr_s, sizeof thr_s, "%d", threads);
    size_t na = 0;
    char **argv = calloc(2 * n_pairs + 10, sizeof *argv);
    if (!argv) {
        snprintf(msg, msg_size, "out of memory");
        return -1;
    }
    argv[na++] = (char *)node;
    argv[na++] = (char *)runjs;
    argv[na++] = (char *)model;
    argv[na++] = "--bench";
    argv[na++] = runs_s;
    argv[na++] = "--threads";
    argv[na++] = thr_s;
    for (size_t i = 0; i < n_pairs; i++) {
        argv[na++] = "--input";
        argv[na++] = pairs[i];
    }
    argv[na] = NULL;
    int fd[2];
    if (pipe(fd) != 0) {
        free(argv);
        snprintf(msg, msg_size, "pipe: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addclose(&fa, fd[0]);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 2);
    posix_spawn_file_actions_addclose(&fa, fd[1]);
    pid_t pid;
    int rc = posix_spawnp(&pid, node, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    free(argv);
    close(fd[1]);
    if (rc != 0) {
        close(fd[0]);
        snprintf(msg, msg_size, "cannot run %s: %s; " NEEDS, node,
                 strerror(rc));
        return -1;
    }
    char out[8192];
    size_t len = 0;
    ssize_t r;
    while ((r = read(fd[0], out + len, sizeof out - 1 - len)) > 0 ||
           (r < 0 && errno == EINTR))
        if (r > 0) {
            len += (size_t)r;
            if (len == sizeof out - 1) { /* keep the tail */
                memmove(out, out + len / 2, len - len / 2);
                len -= len / 2;
            }
        }
    out[len] = '\0';
    close(fd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    const char *m = strstr(out, "ort_median_ms=");
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && m) {
        *median = strtod(m + strlen("ort_median_ms="), NULL);
        return 0;
    }
    /* run.js reports its own failures as one "run.js: ..." line; node's
     * (a missing module, a crash) end with a stack and its version: take
     * the first line naming an error there */
    const char *last = strstr(out, "run.js: ");
    if (!last)
        last = strstr(out, "Error");
    if (!last) {
        while (len && (out[len - 1] == '\n' || out[len - 1] == '\r'))
            out[--len] = '\0';
        last = strrchr(out, '\n');
        last = last ? last + 1 : out[0] ? out : "node exited without output";
    }
    char *eol = strchr(last, '\n');
    if (eol)
        *eol = '\0';
    size_t n = strlen(last) < msg_size - 1 ? strlen(last) : msg_size - 1;
    memcpy(msg, last, n);
    msg[n] = '\0';
    return -1;
}

int cli_ort_threads(int threads)
{
    if (threads > 0)
        return threads;
    /* onnxq's 0 means OpenMP's default, all cores; run.js's default is 1 */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    return ncpu > 0 ? (int)ncpu : 1;
}

int cli_ort_bench(const char *cmd, const char *runjs,
                  const char *const *models, size_t n_models,
                  onnxq_session *s, const onnxq_tensor *in, size_t n_in,
                  unsigned long long runs, int threads, double *median_ms)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = oq_path_join(tmp && tmp[0] ? tmp : "/tmp", "onnxq-ort-XXXXXX");
    char **files = calloc(n_in + 1, sizeof *files);
    char **pairs = calloc(n_in + 1, sizeof *pairs);
    int rc = CLI_ERROR;
    size_t made = 0;
    if (!dir || !files || !pairs) {
        cli_fail(cmd, "out of memory");
        goto done;
    }
    if (!mkdtemp(dir)) {
        cli_fail(cmd, "--ort: cannot make a temporary folder %s: %s", dir,
                 strerror(errno));
        free(dir);
        dir = NULL;
        goto done;
    }
    for (; made < n_in; made++) {
        char name[32];
        snprintf(name, sizeof name, "input_%zu.npy", made);
        files[made] = oq_path_join(dir, name);
        const char *iname = onnxq_session_input(s, made)->name;
        size_t len = strlen(iname) + strlen(files[made] ? files[made] : "") + 2;
        pairs[made] = malloc(len);
        onnxq_error err;
        if (!files[made] || !pairs[made]) {
            cli_fail(cmd, "out of memory");
            made++;
            goto done;
        }
        snprintf(pairs[made], len, "%s=%s", iname, files[made]);
        if (onnxq_npy_write(files[made], &in[made], &err) != ONNXQ_OK) {
            cli_fail(cmd, "--ort: %s", err.message);
            made++;
            goto done;
        }
    }
    for (size_t k = 0; k < n_models; k++) {
        char msg[600];
        if (bench_one(runjs, models[k], pairs, n_in, runs,
                      cli_ort_threads(threads), &median_ms[k], msg,
                      sizeof msg)) {
            cli_fail(cmd, "--ort: ONNX Runtime on %s: %s", models[k], msg);
            goto done;
        }
    }
    rc = CLI_OK;
done:
    for (size_t i = 0; i < made; i++) {
        if (files[i])
            unlink(files[i]);
        free(files[i]);
        free(pairs[i]);
    }
    if (dir)
        rmdir(dir);
    free(dir);
    free(files);
    free(pairs);
    return rc;
}
