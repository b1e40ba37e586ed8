"""What /proc says about the server processes a scenario measures: which are its workers,
their CPU time, memory, threads and open files."""

import os
from pathlib import Path


def server_workers(port: int) -> list[int]:
    """PIDs of the uvicorn worker processes behind `port` (children of its supervisor)."""
    procs = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        procs[int(entry.name)] = (cmdline, ppid)
    port_arg = str(port).encode()
    supervisors = [
        pid
        for pid, (cmdline, _) in procs.items()
        if any(b"uvicorn" in part for part in cmdline) and port_arg in cmdline
    ]
    workers = sorted(
        pid
        for pid, (cmdline, ppid) in procs.items()
        if ppid in supervisors and not any(b"resource_tracker" in part for part in cmdline)
    )
    return workers or supervisors  # one worker: uvicorn serves in the process itself


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_figures(pid: int) -> dict[str, int]:
    """Resident memory (KiB), threads and open file descriptors of `pid` now."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "rss_kb": int(fields["VmRSS"].split()[0]),
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
    }
