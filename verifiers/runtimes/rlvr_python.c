/* rlvr's CPython driver for the code verifier (built by build-python.sh, linked with CPython's objects).
 *
 * export "wizer.initialize": Py_Initialize + import the common competitive-programming modules and
 *   run the prelude (single-thread `threading` shim), so the Wizer snapshot starts warm.
 * main(argc, argv): `python MODE FILE`
 *   MODE "run":    run FILE as __main__; the exit status is the program's.
 *   MODE "script": run FILE as __main__; only when it completes without an exception does this C code
 *                  call the host import `rlvr.finish(0)`. Python code cannot reach that import (no ctypes),
 *                  so `sys.exit(0)`, `os._exit(0)` or a printed marker never count as a pass.
 * Before anything runs, the regular file "/.rlvr/stdin" (preopened read-only by the host) is moved to fd 0,
 * so `os.fstat(0).st_size` is the true input size (some accepted solutions read exactly that many bytes).
 * A builtin module `_rlvr` offers `emit(index, text)`, used by call-style test harnesses to hand each
 * serialised return value to the host (which compares it; expected values never enter the guest). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

__attribute__((import_module("rlvr"), import_name("finish"))) void rlvr_finish(int32_t status);
__attribute__((import_module("rlvr"), import_name("emit"))) void rlvr_emit(int32_t index, const char *ptr,
                                                                           int32_t len);

static int initialized = 0;

static PyObject *rlvr_emit_py(PyObject *self, PyObject *args) {
    int index;
    const char *text;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "is#", &index, &text, &len)) return NULL;
    rlvr_emit(index, text, (int32_t)len);
    Py_RETURN_NONE;
}

static PyMethodDef rlvr_methods[] = {
    {"emit", rlvr_emit_py, METH_VARARGS, "emit(index, text): hand one serialised test result to the host."},
    {NULL, NULL, 0, NULL}};
static struct PyModuleDef rlvr_module = {PyModuleDef_HEAD_INIT, "_rlvr", NULL, -1, rlvr_methods};
static PyObject *PyInit__rlvr(void) { return PyModule_Create(&rlvr_module); }

/* Threads: WASI preview 1 has none. Competitive programmers start one thread only to get a bigger stack
 * (`threading.stack_size(1<<27); Thread(target=main).start()`); this shim runs such a thread to completion
 * at start(). A second thread started while one runs is real concurrency: a clear RuntimeError. */
static const char *PRELUDE =
    "import sys, collections, heapq, itertools, math, bisect, functools, re, io, os, json\n"
    "sys.setrecursionlimit(10**6)\n"
    "def _rlvr_threads():\n"
    "    import types\n"
    "    try:\n"
    "        import threading as t\n"
    "    except Exception:\n"
    "        t = types.ModuleType('threading'); sys.modules['threading'] = t\n"
    "    state = {'depth': 0, 'size': 0}\n"
    "    class Thread:\n"
    "        def __init__(self, group=None, target=None, name=None, args=(), kwargs=None, *, daemon=None):\n"
    "            self._target, self._args, self._kwargs = target, args, kwargs or {}\n"
    "            self.name, self.daemon, self._started = name or 'Thread-1', daemon, False\n"
    "        def run(self):\n"
    "            if self._target is not None: self._target(*self._args, **self._kwargs)\n"
    "        def start(self):\n"
    "            if state['depth'] > 0:\n"
    "                raise RuntimeError('rlvr sandbox: real concurrency is not available (WASI has no threads); '\n"
    "                                   'a thread may only run to completion from the main thread')\n"
    "            self._started = True\n"
    "            state['depth'] += 1\n"
    "            try: self.run()\n"
    "            finally: state['depth'] -= 1\n"
    "        def join(self, timeout=None): pass\n"
    "        def is_alive(self): return False\n"
    "        def setDaemon(self, d): self.daemon = d\n"
    "    def stack_size(size=None):\n"
    "        old = state['size']\n"
    "        if size is not None: state['size'] = size\n"
    "        return old\n"
    "    t.Thread, t.stack_size = Thread, stack_size\n"
    "    if not hasattr(t, 'Lock'):\n"
    "        class Lock:\n"
    "            def acquire(self, *a, **k): return True\n"
    "            def release(self): pass\n"
    "            __enter__ = lambda self: self\n"
    "            __exit__ = lambda self, *a: None\n"
    "        t.Lock = t.RLock = Lock\n"
    "_rlvr_threads()\n"
    "del _rlvr_threads\n";

static void init_python(void) {
    PyImport_AppendInittab("_rlvr", PyInit__rlvr);
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    config.write_bytecode = 0;
    config.install_signal_handlers = 0;
    config.use_environment = 0;
    config.user_site_directory = 0;
    PyStatus status = PyConfig_SetString(&config, &config.home, L"/usr/local");
    if (!PyStatus_Exception(status)) status = Py_InitializeFromConfig(&config);
    PyConfig_Clear(&config);
    if (PyStatus_Exception(status)) Py_ExitStatusException(status);
    if (PyRun_SimpleString(PRELUDE) != 0) {
        fprintf(stderr, "rlvr python: prelude failed\n");
        exit(70);
    }
    initialized = 1;
}

__attribute__((export_name("wizer.initialize"))) void wizer_initialize(void) { init_python(); }

static void redirect_stdin(void) {
    int fd = open("/.rlvr/stdin", O_RDONLY);
    if (fd < 0) return;
    if (fd != 0) {
        __wasi_fd_renumber(fd, 0);
    }
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(70);
    }
    size_t cap = 1 << 16, len = 0, r;
    char *buf = malloc(cap);
    if (!buf) exit(71);
    while ((r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += r;
        if (cap - len - 1 == 0) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) exit(71);
        }
    }
    fclose(f);
    buf[len] = 0;
    return buf;
}

int main(int argc, char **argv) {
    if (!initialized) init_python();
    redirect_stdin();
    if (argc < 3) {
        fprintf(stderr, "usage: python run|script FILE\n");
        return 2;
    }
    int script = strcmp(argv[1], "script") == 0;
    char *code = read_file(argv[2]);
    PyObject *av = PyList_New(0);
    for (int i = 2; i < argc; i++) {
        PyObject *s = PyUnicode_DecodeFSDefault(argv[i]);
        PyList_Append(av, s);
        Py_DECREF(s);
    }
    PySys_SetObject("argv", av);
    Py_DECREF(av);
    PyObject *main_module = PyImport_AddModule("__main__");
    PyObject *globals = PyModule_GetDict(main_module);
    PyObject *name = PyUnicode_FromString(argv[2]);
    PyDict_SetItemString(globals, "__file__", name);
    Py_DECREF(name);
    PyObject *compiled = Py_CompileString(code, argv[2], Py_file_input);
    free(code);
    int rc = 1;
    if (compiled) {
        PyObject *result = PyEval_EvalCode(compiled, globals, globals);
        Py_DECREF(compiled);
        if (result) {
            Py_DECREF(result);
            rc = 0;
        }
    }
    if (rc != 0) PyErr_Print(); /* SystemExit exits the process here, as in CPython's own main */
    PyObject *flushed = PyObject_CallMethod(PySys_GetObject("stdout"), "flush", NULL);
    if (!flushed) {
        PyErr_Clear();
        rc = 1;
    } else {
        Py_DECREF(flushed);
    }
    flushed = PyObject_CallMethod(PySys_GetObject("stderr"), "flush", NULL);
    if (flushed) Py_DECREF(flushed);
    else PyErr_Clear();
    if (script && rc == 0) rlvr_finish(0);
    return rc;
}
