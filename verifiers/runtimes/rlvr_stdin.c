/* Linked into every C and C++ program the code verifier builds: before any static initialiser
 * runs, move the read-only regular file /.rlvr/stdin (the test's input, preopened by the host) to
 * fd 0, so that fstat(0) reports its true size, as on a judge that redirects stdin from a file. */
#include <fcntl.h>
#include <wasi/api.h>
__attribute__((constructor(101))) static void rlvr_stdin_from_file(void) {
    int fd = open("/.rlvr/stdin", O_RDONLY);
    if (fd > 0) (void)__wasi_fd_renumber(fd, 0);
}
