"""The jail: fresh Linux namespaces in which a submission's code runs, seeing only the OS and Python.

``unshare`` starts this code as pid 1 of new user, mount, pid, network, IPC and UTS namespaces,
before any submission code runs. It builds a new root on a tmpfs holding read-only binds of
what Python needs (the OS's ``/usr``, the interpreter's prefix, the venv) and nothing else: no
exercise sources, no solutions, no other submission, no HOME of the grader. A fresh writable
``/tmp`` (size-capped) holds the work folder, HOME and the IPython/Jupyter/matplotlib folders;
everything written there vanishes with the namespaces. Pid 1 chroots into that root and forks
the process that runs the submission; that process drops every capability first, so it can
neither undo a mount, remount one writable, nor chroot out. The network namespace has no
interface up: no network. When pid 1 ends (the grader kills it on a time-out), the kernel kills
every process left in the pid namespace, however it was started.

Standard library only (plus ``ctypes`` for mount/chroot/prctl): it runs before any package is
imported, and in the grader's tests it is exercised by hostile submissions.
"""
import ctypes
import os

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 1 << 14, 1 << 18, 1 << 21, 1 << 24
ST_RELATIME = 4096  # statvfs's flag bit for relatime (MS_RELATIME differs)

PR_SET_SECUREBITS, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 28, 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECURE_ALL_BITS_LOCKED = 0x2F  # noroot, no_setuid_fixup (both locked), keep_caps locked off
CAPABILITY_VERSION_3 = 0x20080522

DEVICES = ("null", "zero", "full", "random", "urandom")
TOP_LEVEL_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
ETC_FILES = ("/etc/ld.so.cache", "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf")

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None) -> None:
    enc = (lambda s: None if s is None else os.fsencode(s))
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {source} on {target}")


def _locked_flags(path: str) -> int:
    """The mount flags of ``path`` that a remount inside a user namespace must keep."""
    f = os.statvfs(path).f_flag
    flags = f & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)
    if f & ST_RELATIME:
        flags |= MS_RELATIME
    elif not f & MS_NOATIME:
        flags |= MS_STRICTATIME
    return flags


def _mount_points_under(root: str) -> list[str]:
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].encode().decode("unicode_escape")  # octal escapes: \040
            if point == root or point.startswith(root.rstrip("/") + "/"):
                points.append(point)
    return points


def _bind_read_only(source: str, target: str) -> None:
    """Bind ``source`` (with its sub-mounts) at ``target`` and make every one of them read-only."""
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(source, target, None, MS_BIND | MS_REC)
    for point in _mount_points_under(target):
        _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _locked_flags(point))


def _needed_paths(allow: list[str]) -> list[str]:
    """The allowed paths and their real paths, outermost first, without ones inside another."""
    paths = set()
    for p in allow + list(ETC_FILES):
        if os.path.exists(p):
            paths.add(os.path.abspath(p))
            paths.add(os.path.realpath(p))
    for name in TOP_LEVEL_LINKS:
        if os.path.isdir("/" + name) and not os.path.islink("/" + name):
            paths.add("/" + name)
    kept = []
    for p in sorted(paths, key=lambda s: (s.count("/"), s)):
        if not any(p == k or p.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(p)
    return kept


def build_root(root: str, allow: list[str], tmp_mb: int) -> list[str]:
    """Build the new root at ``root`` (an empty directory); return notes on what could not be done."""
    notes = []
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755")
    os.makedirs(f"{root}/tmp")  # first, so that an allowed path under /tmp (a venv) stays visible
    _mount("tmpfs", f"{root}/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_mb}m,mode=1777")
    for path in _needed_paths(allow):
        _bind_read_only(path, root + path)
    for name in TOP_LEVEL_LINKS:
        if os.path.islink("/" + name):
            os.symlink(os.readlink("/" + name), f"{root}/{name}")
    os.makedirs(f"{root}/dev", exist_ok=True)
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            open(f"{root}/dev/{name}", "a").close()
            _mount(f"/dev/{name}", f"{root}/dev/{name}", None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{name}")
    os.makedirs(f"{root}/dev/shm")
    _mount("tmpfs", f"{root}/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777")
    os.makedirs(f"{root}/proc")
    try:
        _mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    except OSError as e:  # never fall back to the grader's /proc: it leads outside the jail
        notes.append(f"no /proc in the jail ({e.strerror})")
    _mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return notes


def drop_capabilities() -> None:
    """Drop every capability for good (bounding, ambient, effective, permitted, inheritable)."""
    _check(_libc.prctl(PR_SET_SECUREBITS, SECURE_ALL_BITS_LOCKED, 0, 0, 0), "securebits")
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break  # past the last capability this kernel knows
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    data = (ctypes.c_uint32 * 6)()  # two {effective, permitted, inheritable}, all zero
    _check(_libc.capset(ctypes.byref(Header(CAPABILITY_VERSION_3, 0)), data), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def limit_resources(mem_bytes: int, file_mb: int, nproc: int | None = None) -> None:
    """Resource limits for the submission's process: memory, file size, open files, no core
    (and processes: inside a user namespace the count starts from that namespace's own)."""
    import resource

    limits = {resource.RLIMIT_CORE: 0, resource.RLIMIT_FSIZE: file_mb << 20,
              resource.RLIMIT_NOFILE: 1024}
    if nproc:
        limits[resource.RLIMIT_NPROC] = nproc
    if mem_bytes:
        limits[resource.RLIMIT_AS] = mem_bytes
    for which, value in limits.items():
        try:
            soft, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass


def enter(root: str, allow: list[str], tmp_mb: int, mem_bytes: int, keep_fds: list[int]) -> list[str]:
    """As pid 1 of the new namespaces: build the root, chroot, fork. Returns only in the child.

    Pid 1 waits for the child and exits with its status (128 + signal if it was killed);
    the kernel then kills whatever the submission left running in the namespace.
    """
    notes = build_root(root, allow, tmp_mb)
    os.chdir(root)
    _check(_libc.chroot(b"."), "chroot")
    os.chdir("/")
    for d in ("/tmp/work", "/tmp/home"):
        os.makedirs(d, exist_ok=True)
    pid = os.fork()
    if pid == 0:
        drop_capabilities()
        limit_resources(mem_bytes, tmp_mb, nproc=512)
        os.chdir("/tmp/work")
        return notes
    for fd in keep_fds:  # pid 1 holds no pipe: the grader sees EOF when the child goes
        try:
            os.close(fd)
        except OSError:
            pass
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)
