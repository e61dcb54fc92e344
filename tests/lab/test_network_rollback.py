"""Lab test of roles/network on systemd-networkd: move the host's address onto a bridge,
then a change that cuts the host off and must be rolled back by the timer.

A plain Debian 12 lab host (no Xen needed), its own run directory (.tmp/lab-network),
one VM. eth0 carries the forwarded SSH port (QEMU user network, DHCP 10.0.2.15):
  1. xenbr9 over eth0 with DHCP: the address moves onto the bridge (same MAC, same
     lease), the play succeeds, a second run changes nothing.
  2. xenbr9 with a static address that the SSH forwarding does not reach: Ansible loses
     the host, the rollback timer restores step 1's configuration, the play fails
     saying so, and the host is reachable again.
Takes ~10 min under QEMU TCG. Timings go to .tmp/lab-network/timings.json.

Opt-in (XENOPS_LAB_NETWORK=1): it does not pass yet. In its first lab run the host was
not reachable again after step 1 (eth0 moved into xenbr9 with DHCP) and the rollback
timer (150 s) did not bring it back within 10 min; not yet diagnosed.
"""

import json
import os
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(REPO, "hypervisor", "lab")
RUN_DIR = os.path.join(REPO, ".tmp", "lab-network")
HOST = "lab1"
ROLLBACK = 150
CONNECT = 60

if os.environ.get("XENOPS_LAB", "") == "skip":
    pytest.skip("XENOPS_LAB=skip", allow_module_level=True)
if os.environ.get("XENOPS_LAB_NETWORK", "") != "1":
    pytest.skip("opt-in, does not pass yet: set XENOPS_LAB_NETWORK=1", allow_module_level=True)


def _env():
    env = dict(os.environ)
    env["XENOPS_LAB_RUN_DIR"] = RUN_DIR
    env["ANSIBLE_COLLECTIONS_PATH"] = os.path.join(REPO, ".tmp", "collections")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_PIPELINING"] = "True"
    return env


def lab(*args, timeout=1800):
    proc = subprocess.run([LAB] + list(args), check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, timeout=timeout, env=_env())
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def must(result, what):
    rc, out = result
    if rc != 0:
        pytest.fail("%s failed (rc=%d):\n%s" % (what, rc, out[-4000:]))
    return out


def ssh(cmd, timeout=300):
    return must(lab("ssh", HOST, "--", cmd, timeout=timeout), cmd)


@pytest.fixture(scope="module")
def lab_host():
    os.makedirs(RUN_DIR, exist_ok=True)
    link = os.path.join(REPO, ".tmp", "collections", "ansible_collections", "xenops", "xen")
    if not os.path.exists(link):
        subprocess.run(["make", "-C", REPO, "collection"], check=True, stdout=subprocess.DEVNULL)
    must(lab("up", "--hosts", "1"), "lab up")
    inventory = os.path.join(RUN_DIR, "inventory.yml")
    must(lab("inventory", inventory), "lab inventory")
    yield inventory
    lab("down", "--wipe")


def network_role(inventory, bridges):
    """Run only roles/network on the lab host; return (rc, output, seconds)."""
    playbook = os.path.join(RUN_DIR, "network.yml")
    with open(playbook, "w") as fh:
        fh.write("- name: Network\n  hosts: xen_hosts\n  roles:\n    - role: xenops.xen.network\n")
    extra = {"network_backend": "systemd-networkd", "network_bridges": bridges,
             "network_rollback_timeout": ROLLBACK, "network_connect_timeout": CONNECT}
    t0 = time.time()
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
         playbook, "-e", json.dumps(extra)],
        check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        timeout=1800, env=_env(), cwd=REPO)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), time.time() - t0


GOOD = [{"name": "xenbr9", "uplink": "eth0", "method": "dhcp"},
        {"name": "xenbr8", "method": "none"},
        {"name": "xenbr108", "uplink": "xenbr8", "vlan": 108}]
BAD = [{"name": "xenbr9", "uplink": "eth0", "method": "static", "addresses": ["10.0.2.99/24"]},
       {"name": "xenbr8", "method": "none"},
       {"name": "xenbr108", "uplink": "xenbr8", "vlan": 108}]


def _addresses(dev):
    out = ssh("ip -json addr show dev %s" % dev)
    return [a["local"] + "/" + str(a["prefixlen"]) for a in json.loads(out)[0].get("addr_info", [])]


def test_bridge_takes_the_host_address_then_a_bad_change_is_rolled_back(lab_host):
    timings = {}
    rc, out, timings["apply_seconds"] = network_role(lab_host, GOOD)
    assert rc == 0, out[-4000:]
    assert "changed=0" not in out, out[-4000:]
    assert "10.0.2.15/24" in _addresses("xenbr9")
    assert _addresses("eth0") == []
    assert json.loads(ssh("ip -json link show dev eth0"))[0].get("master") == "xenbr9"
    vlan = json.loads(ssh("ip -json -d link show dev xenbr8.108"))[0]
    assert vlan["linkinfo"]["info_kind"] == "vlan"
    assert vlan.get("master") == "xenbr108"
    assert ssh("systemctl list-timers --all --no-legend xenops-network-rollback.timer | wc -l").strip() == "0"

    rc, out, timings["rerun_seconds"] = network_role(lab_host, GOOD)
    assert rc == 0, out[-4000:]
    assert "changed=0" in out, out[-4000:]

    rc, out, timings["bad_change_seconds"] = network_role(lab_host, BAD)
    assert rc != 0, out[-4000:]
    assert "cut the host off" in out, out[-4000:]
    assert "rollback timer restored the previous configuration" in out
    # back to the good configuration
    assert "10.0.2.15/24" in _addresses("xenbr9")
    assert "Address=10.0.2.99/24" not in ssh("cat /etc/systemd/network/05-xenops-xenbr9.network")
    assert ssh("cat /var/lib/xenops-xen/network/rolled-back").strip().isdigit()

    with open(os.path.join(RUN_DIR, "timings.json"), "w") as fh:
        json.dump({k: round(v) for k, v in timings.items()}, fh, indent=2)
    print("timings: %s" % {k: round(v) for k, v in timings.items()})
