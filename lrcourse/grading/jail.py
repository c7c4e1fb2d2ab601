"""The jail: fresh Linux namespaces in which a submission's code runs, seeing only the OS and Python.

The grading child (:mod:`lrcourse.grading.child`) calls :func:`enter` before any submission
code runs. The guarantees, each made by one function below:

* **Namespaces** (:func:`new_namespaces`): new user, mount, pid, network, IPC and UTS
  namespaces. The jail's root (which builds the root file system) is the grader's own uid;
  when the grader runs as root, the map holds a second id, ``SUBMISSION_ID``, as which the
  submission runs (host uid ``JAIL_HOST_ID``), so that the submission is not the host's root —
  the kernel exempts the host's uid 0 from ``RLIMIT_NPROC``.
* **File system** (:func:`build_root`): a new root on a tmpfs holding read-only binds of what
  Python needs (the OS's ``/usr``, the interpreter's prefix, the venv) and nothing else: no
  exercise sources, no solutions, no other submission, no HOME of the grader. A fresh writable
  ``/tmp`` (size-capped) holds the work folder, HOME and the IPython/Jupyter/matplotlib
  folders; a private ``devpts`` gives ``!cmd`` and ``%pip`` a terminal; ``/proc/keys`` is
  masked. The root is mounted over ``/sys`` inside the new mount namespace, so the host's file
  system gets no stage folder that a killed grader could leave behind.
* **Privileges** (:func:`drop_capabilities`): the process that runs the submission becomes a
  non-root user of the jail (where mapped) and drops every capability for good, so it can
  neither undo a mount, remount one writable, nor chroot out.
* **Keyring** (:func:`join_fresh_session_keyring`): the kernel keyring is not namespaced; the
  child joins a new, empty, anonymous session keyring, and the filter below refuses every
  keyring call after that.
* **System calls** (:func:`install_syscall_filter`): a seccomp filter refuses (``EPERM``) the
  calls Docker's default profile refuses that a notebook never needs — keyrings, mounts,
  namespaces, ptrace, kernel modules, clocks, BPF, perf, io_uring … — and kills a process that
  uses another architecture's system-call table.
* **Limits** (:func:`limit_resources`, :func:`make_cgroups`, :func:`join_cgroups`): per process
  address space, file size, open files, no core, and ``RLIMIT_NPROC`` processes; where a cgroup
  (v2, or v1 ``pids``/``memory``) is writable, each attempt gets its own with ``pids.max`` and a
  memory limit for all its processes together.
* **Death** (:func:`die_with_parent`): every process of the chain (the child that creates the
  namespaces, the jail's pid 1) gets ``SIGKILL`` when its parent dies, so killing the grader in
  any way ends the jail; when pid 1 ends the kernel kills every process left in the pid
  namespace, however it was started. The network namespace has no interface up: no network.

Standard library only (plus ``ctypes`` for the system calls): it runs before any package is
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

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 1, 4, 22, 2
SECURE_BITS_SWITCHING_USER = 0x2B  # noroot locked, setuid fixup locked *on*, keep_caps locked off
SYS_KEYCTL, KEYCTL_JOIN_SESSION_KEYRING = 250, 1  # x86_64
CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID = 0x10000000, 0x00020000, 0x20000000
CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS = 0x40000000, 0x08000000, 0x04000000
JAIL_ROOT = "/sys"          # where the new root is mounted, inside the private mount namespace
JAIL_HOST_ID = 65_536_000   # host uid/gid of the submission when the grader is root
SUBMISSION_ID = 1000        # uid/gid of the submission inside the jail, where it can be mapped
MASKED = ("/proc/keys", "/proc/key-users", "/proc/kcore", "/proc/timer_list", "/proc/sched_debug")

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
    """Build the new root at ``root`` (mounted over it); return notes on what could not be done."""
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
    notes += private_devpts(root)
    os.makedirs(f"{root}/proc")
    try:
        _mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        notes += mask_proc_files(root)
    except OSError as e:  # never fall back to the grader's /proc: it leads outside the jail
        notes.append(f"no /proc in the jail ({e.strerror})")
    _mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return notes


def private_devpts(root: str) -> list[str]:
    """A new devpts instance at /dev/pts (and /dev/ptmx), so ``!cmd`` and ``%pip`` get a pty."""
    os.makedirs(f"{root}/dev/pts")
    try:
        _mount("devpts", f"{root}/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
               "newinstance,ptmxmode=0666,mode=0620")
    except OSError as e:
        return [f"no terminals in the jail ({e.strerror})"]
    os.symlink("pts/ptmx", f"{root}/dev/ptmx")
    return []


def mask_proc_files(root: str) -> list[str]:
    """Hide /proc files that describe the host (the keyrings of every user, kernel memory)."""
    notes = []
    for path in MASKED:
        if os.path.exists(root + path):
            try:
                _mount("/dev/null", root + path, None, MS_BIND)
            except OSError as e:
                notes.append(f"{path} is not masked ({e.strerror})")
    return notes


def die_with_parent(parent_pid: int | None = None, alive_fd: int | None = None) -> None:
    """Get SIGKILL when the parent dies; exit now if it already has (checked by its pid, or, for
    a pid namespace's first process, which cannot see its parent, by EOF on ``alive_fd``)."""
    import select
    import signal

    _check(_libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0), "parent death signal")
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(137)
    if alive_fd is not None and select.select([alive_fd], [], [], 0)[0]:
        os._exit(137)  # the write end is closed: the parent is gone


def new_namespaces() -> bool:
    """Move into new user, mount, pid, network, IPC and UTS namespaces and map the ids.

    The jail's root is the caller's uid. As root, ``SUBMISSION_ID`` is mapped to host id
    ``JAIL_HOST_ID`` too (a helper left in the host's namespace writes the maps: a map of two
    ids needs root there); returns True. Otherwise (a user may map only their own id) there is
    no second id; returns False. The pid namespace applies to the next fork.
    """
    euid, egid = os.geteuid(), os.getegid()
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    if euid != 0:
        _check(_libc.unshare(flags), "unshare")
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {euid} 1"), ("gid_map", f"0 {egid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
        return False
    go_r, go_w = os.pipe()
    helper = os.fork()
    if helper == 0:
        code = 1
        try:
            os.close(go_w)
            if os.read(go_r, 1) == b"x":
                lines = f"0 0 1\n{SUBMISSION_ID} {JAIL_HOST_ID} 1\n"
                for name in ("uid_map", "gid_map"):
                    with open(f"/proc/{os.getppid()}/{name}", "w") as f:
                        f.write(lines)
                code = 0
        finally:
            os._exit(code)
    os.close(go_r)
    try:
        _check(_libc.unshare(flags), "unshare")
        os.write(go_w, b"x")
    finally:
        os.close(go_w)
        _, status = os.waitpid(helper, 0)
    if status != 0:
        raise OSError(EPERM, "could not map the jail's user ids (writing uid_map failed)")
    return True


def join_fresh_session_keyring() -> list[str]:
    """Leave the grader's session keyring for a new, empty, anonymous one (x86_64 only)."""
    if os.uname().machine != "x86_64":
        return [f"the session keyring is shared ({os.uname().machine})"]
    _libc.syscall.restype = ctypes.c_long
    serial = _libc.syscall(ctypes.c_long(SYS_KEYCTL), ctypes.c_long(KEYCTL_JOIN_SESSION_KEYRING),
                           ctypes.c_void_p(None))
    if serial < 0:
        err = ctypes.get_errno()
        if err in (EPERM, ENOSYS):  # a container's own filter refuses keyrings: out of reach anyway
            return [f"keyring calls are refused by the host ({os.strerror(err)})"]
        raise OSError(err, f"join a new session keyring: {os.strerror(err)}")
    return []


def drop_capabilities(switch_to: int | None = None, give: tuple = ()) -> None:
    """Drop every capability for good (bounding, ambient, effective, permitted, inheritable).

    With ``switch_to``, first hand the folders ``give`` to that uid/gid and become it (no
    supplementary groups); the kernel then clears the capabilities as it does for any user.
    """
    bits = SECURE_ALL_BITS_LOCKED if switch_to is None else SECURE_BITS_SWITCHING_USER
    _check(_libc.prctl(PR_SET_SECUREBITS, bits, 0, 0, 0), "securebits")
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break  # past the last capability this kernel knows
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    if switch_to is not None:
        for folder in give:
            os.chown(folder, switch_to, switch_to)
        os.setgroups([])
        os.setresgid(switch_to, switch_to, switch_to)
        os.setresuid(switch_to, switch_to, switch_to)
        _check(_libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "dumpable")  # its /proc/self stays its own

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    data = (ctypes.c_uint32 * 6)()  # two {effective, permitted, inheritable}, all zero
    _check(_libc.capset(ctypes.byref(Header(CAPABILITY_VERSION_3, 0)), data), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


# x86_64 system calls a notebook never needs, refused as Docker's default profile refuses them
# (keyrings; mounts and namespaces; ptrace and other processes' memory; modules, kexec, reboot;
# clocks; accounting, quotas, swap; BPF, perf, userfaultfd, io_uring; NUMA policy; handles).
REFUSED_SYSCALLS = {
    "keyctl": 250, "add_key": 248, "request_key": 249,
    "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
    "fspick": 433, "mount_setattr": 442,
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
    "pidfd_getfd": 438, "process_madvise": 440,
    "init_module": 175, "finit_module": 313, "delete_module": 176, "create_module": 174,
    "get_kernel_syms": 177, "query_module": 178, "kexec_load": 246, "kexec_file_load": 320,
    "reboot": 169, "iopl": 172, "ioperm": 173, "uselib": 134, "vhangup": 153,
    "settimeofday": 164, "clock_settime": 227, "clock_adjtime": 305, "adjtimex": 159,
    "acct": 163, "quotactl": 179, "quotactl_fd": 443, "swapon": 167, "swapoff": 168,
    "nfsservctl": 180, "sysfs": 139, "_sysctl": 156, "ustat": 136, "lookup_dcookie": 212,
    "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "mbind": 237, "set_mempolicy": 238, "get_mempolicy": 239, "move_pages": 279,
    "name_to_handle_at": 303, "open_by_handle_at": 304,
}
SYS_CLONE, SYS_CLONE3 = 56, 435  # clone: refused with a namespace flag; clone3: ENOSYS (glibc falls back)
CLONE_NAMESPACE_FLAGS = 0x7E020080
AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000
EPERM, ENOSYS = 1, 38


def syscall_filter() -> bytes:
    """The seccomp BPF program (struct sock_filter[]) as bytes: x86_64 only, EPERM on the list."""
    import struct

    LD_W_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    ALLOW, ERRNO, KILL = 0x7FFF0000, 0x00050000, 0x80000000
    prog = []  # (code, jt, jf, k) with jt/jf as labels or offsets

    def op(code, k, jt=0, jf=0):
        prog.append([code, jt, jf, k])

    op(LD_W_ABS, 4)                                 # seccomp_data.arch
    op(JEQ, AUDIT_ARCH_X86_64, 1, 0)
    op(RET, KILL)                                   # i386 or x32 entry: another table
    op(LD_W_ABS, 0)                                 # seccomp_data.nr
    op(JGE, X32_SYSCALL_BIT, "eperm", 0)
    op(JEQ, SYS_CLONE3, "enosys", 0)
    op(JEQ, SYS_CLONE, 0, 2)
    op(LD_W_ABS, 16)                                # clone's flags (low 32 bits of args[0])
    op(JSET, CLONE_NAMESPACE_FLAGS, "eperm", "allow")
    for nr in sorted(REFUSED_SYSCALLS.values()):
        op(JEQ, nr, "eperm", 0)
    labels = {"allow": len(prog), "eperm": len(prog) + 1, "enosys": len(prog) + 2}
    op(RET, ALLOW)
    op(RET, ERRNO | EPERM)
    op(RET, ERRNO | ENOSYS)
    out = b""
    for i, (code, jt, jf, k) in enumerate(prog):
        jt = labels[jt] - i - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - i - 1 if isinstance(jf, str) else jf
        out += struct.pack("=HBBI", code, jt, jf, k)
    return out


def install_syscall_filter() -> list[str]:
    """Refuse REFUSED_SYSCALLS (EPERM) from now on, in this process and all it starts."""
    if os.uname().machine != "x86_64":
        return [f"no system-call filter ({os.uname().machine}: only x86_64 is supported)"]
    code = syscall_filter()

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    buf = ctypes.create_string_buffer(code, len(code))
    prog = Prog(len(code) // 8, ctypes.cast(buf, ctypes.c_char_p))
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0), "seccomp")
    return []


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


def host_uid() -> int | None:
    """This process's uid as the host sees it (None if it is not mapped)."""
    uid = os.getuid()
    try:
        with open("/proc/self/uid_map") as f:
            for line in f:
                inside, outside, count = map(int, line.split())
                if inside <= uid < inside + count:
                    return outside + uid - inside
    except (OSError, ValueError):
        pass
    return None


def process_limit_in_force() -> str | None:
    """How the number of this process's processes is bounded by RLIMIT_NPROC, or None if it is
    not (unlimited, or the host's root, whom the kernel exempts)."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_NPROC)
    outside = host_uid()
    if soft == resource.RLIM_INFINITY or outside in (0, None):
        return None
    return f"RLIMIT_NPROC {soft} (uid {os.getuid()}, host uid {outside})"


# --- cgroups: made and removed by the grader (on the host), joined by the child -------------

def _mounts_of(fstype: str) -> list[tuple[str, str, str]]:
    """(mount root, mount point, super options) of every mount of ``fstype``."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            if fields[sep + 1] == fstype:
                out.append((fields[3], fields[4], fields[sep + 3] if len(fields) > sep + 3 else ""))
    return out


def _own_cgroup(hierarchy: str) -> str | None:
    """This process's cgroup path in ``hierarchy`` ('' for v2, else a v1 controller name)."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if (hierarchy == controllers == "") or (hierarchy and hierarchy in controllers.split(",")):
                return path
    return None


def _cgroup_dir(root: str, point: str, path: str) -> str:
    rel = os.path.relpath(path, root) if path.startswith(root) else path.lstrip("/")
    return os.path.normpath(os.path.join(point, rel))


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def make_cgroups(name: str, pids: int, memory: int) -> list[tuple[str, str]]:
    """New cgroups named ``name`` under the grader's own, limiting processes and memory, where
    writable: cgroup v2 if it has both controllers, else v1's ``pids`` and ``memory``.
    Returns [(folder, the limits it sets)]; nothing where it is not possible."""
    try:
        path = _own_cgroup("")
        for root, point, _ in _mounts_of("cgroup2")[:1]:
            parent = _cgroup_dir(root, point, path or "/")
            with open(os.path.join(parent, "cgroup.subtree_control")) as f:
                enabled = f.read().split()
            if "pids" in enabled and "memory" in enabled:
                d = os.path.join(parent, name)
                os.mkdir(d)
                try:
                    _write(os.path.join(d, "pids.max"), str(pids))
                    _write(os.path.join(d, "memory.max"), str(memory))
                    if os.path.exists(os.path.join(d, "memory.swap.max")):
                        _write(os.path.join(d, "memory.swap.max"), "0")
                except OSError:
                    os.rmdir(d)
                    raise
                return [(d, f"cgroup v2 pids.max {pids}, memory.max {memory >> 20} MB")]
    except (OSError, ValueError):
        pass
    made = []
    for controller, files in (("pids", {"pids.max": str(pids)}),
                              ("memory", {"memory.limit_in_bytes": str(memory),
                                          "memory.memsw.limit_in_bytes": str(memory)})):
        d = None
        try:
            mounts = [m for m in _mounts_of("cgroup") if controller in m[2].split(",")]
            path = _own_cgroup(controller)
            if not mounts or path is None:
                continue
            d = os.path.join(_cgroup_dir(mounts[0][0], mounts[0][1], path), name)
            os.mkdir(d)
            said = []
            for file, value in files.items():
                if os.path.exists(os.path.join(d, file)):
                    _write(os.path.join(d, file), value)
                    said.append(f"{file} {value if controller == 'pids' else f'{memory >> 20} MB'}")
            if not said:
                raise OSError(0, "no limit file")
            made.append((d, "cgroup v1 " + ", ".join(said)))
        except (OSError, ValueError):
            if d and os.path.isdir(d):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
    return made


def join_cgroups(folders: list[str]) -> list[str]:
    """Move this process (and so everything it starts) into each cgroup; notes on failures."""
    notes = []
    for d in folders:
        try:
            _write(os.path.join(d, "cgroup.procs"), str(os.getpid()))
        except OSError as e:
            notes.append(f"not in cgroup {d} ({e.strerror})")
    return notes


def remove_cgroups(folders: list[str]) -> None:
    """Remove the (emptied) cgroups; a few tries while the kernel reaps the last processes."""
    import time

    for d in reversed(folders):
        for _ in range(50):
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)


def remove_cgroups_when_empty(folders: list[str]) -> None:
    """Fork a small process that leaves the cgroups and removes them once they are empty, so
    that they go even when the grader (which removes them itself otherwise) is killed."""
    import time

    if not folders or os.fork():
        return
    try:
        os.setsid()  # out of the attempt's process group, which the grader kills
        for d in folders:
            _write(os.path.join(os.path.dirname(d), "cgroup.procs"), str(os.getpid()))
        null = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, 1024)  # holds no pipe of the grader's: it never delays its EOF
        deadline = time.monotonic() + 24 * 3600
        while folders and time.monotonic() < deadline:
            time.sleep(0.2)
            for d in list(folders):
                try:
                    with open(os.path.join(d, "cgroup.procs")) as f:
                        if f.read().strip():
                            continue
                    os.rmdir(d)
                except FileNotFoundError:
                    pass
                except OSError:
                    continue
                folders.remove(d)
    finally:
        os._exit(0)


def _wait_and_exit(pid: int) -> None:
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 128 - code)


def _close(fds) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def enter(allow: list[str], tmp_mb: int, mem_bytes: int, keep_fds: list[int], *,
          processes: int = 256, cgroups: tuple = (), grader_pid: int | None = None
          ) -> tuple[list[str], list[str]]:
    """Make the jail and move into it. Returns only in the process that runs the submission,
    with (notes on what could not be done, the limits in force).

    This process (dying with the grader) joins the cgroups, creates the namespaces and forks
    the jail's pid 1 (dying with it), which builds the root, chroots and forks the submission's
    process. Each parent waits for its child and exits with its status (128 + signal if it was
    killed); when pid 1 ends the kernel kills whatever the submission left running.
    """
    die_with_parent(parent_pid=grader_pid)
    notes = join_cgroups([d for d, _ in cgroups])
    enforced = [said for d, said in cgroups if not any(d in n for n in notes)]
    remove_cgroups_when_empty([d for d, _ in cgroups])
    switch = new_namespaces()
    alive_r, alive_w = os.pipe()
    pid = os.fork()
    if pid:
        _close(list(keep_fds) + [alive_r])  # the grader sees EOF when the child goes
        _wait_and_exit(pid)
    os.close(alive_w)
    die_with_parent(alive_fd=alive_r)
    notes += build_root(JAIL_ROOT, allow, tmp_mb)
    os.chdir(JAIL_ROOT)
    _check(_libc.chroot(b"."), "chroot")
    os.chdir("/")
    for d in ("/tmp/work", "/tmp/home"):
        os.makedirs(d, exist_ok=True)
    pid = os.fork()
    if pid:
        _close(list(keep_fds) + [alive_r])
        _wait_and_exit(pid)
    os.close(alive_r)
    keyring = join_fresh_session_keyring()
    notes += keyring
    enforced += [] if keyring else ["keyring: a new, empty session keyring"]
    drop_capabilities(SUBMISSION_ID if switch else None, give=("/tmp/work", "/tmp/home"))
    limit_resources(mem_bytes, tmp_mb, nproc=processes)
    nproc = process_limit_in_force()
    enforced += [f"processes: {nproc}"] if nproc else []
    enforced.append(f"memory: RLIMIT_AS {mem_bytes >> 20} MB per process")
    filtered = install_syscall_filter()
    notes += filtered
    if not filtered:
        enforced.append(f"system calls: seccomp refuses {len(REFUSED_SYSCALLS)} (keyctl, mount, ptrace …)")
    os.chdir("/tmp/work")
    return notes, enforced


def enter_unjailed(mem_bytes: int, file_mb: int, work: str, *, processes: int = 256,
                   cgroups: tuple = (), grader_pid: int | None = None) -> tuple[list[str], list[str]]:
    """Without namespaces (trusted notebooks): the same limits, keyring and filter where possible."""
    die_with_parent(parent_pid=grader_pid)
    notes = join_cgroups([d for d, _ in cgroups])
    enforced = [said for d, said in cgroups if not any(d in n for n in notes)]
    remove_cgroups_when_empty([d for d, _ in cgroups])
    notes += join_fresh_session_keyring()
    limit_resources(mem_bytes, file_mb, nproc=processes)
    nproc = process_limit_in_force()
    enforced += [f"processes: {nproc}"] if nproc else []
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    notes += install_syscall_filter()
    os.chdir(work)
    return notes, enforced
