"""Lab test of roles/network: move the host's address onto a bridge, then a change that
cuts the host off and must be rolled back by the timer; once with each backend.

A plain Debian 12 lab host (no Xen needed), its own run directory (.tmp/lab-network),
one VM at a time, a fresh one per backend. The lab image runs systemd-networkd; for
the ifupdown backend the host is first turned into a Debian install as the installer
leaves it (ifupdown, "allow-hotplug eth0" / "iface eth0 inet dhcp", networkd off) and
rebooted. eth0 carries the forwarded SSH port (QEMU user network, DHCP 10.0.2.15):
  1. xenbr9 over eth0 with DHCP: the address moves onto the bridge (same MAC, same
     lease), the play succeeds, a second run changes nothing.
  2. xenbr9 with a static address that the SSH forwarding does not reach: Ansible loses
     the host, the rollback timer restores step 1's configuration, the play fails
     saying so, and the host is reachable again.
Takes ~10 min per backend under QEMU TCG. Timings go to .tmp/lab-network/timings-BACKEND.json,
the output of each play to .tmp/lab-network/play-BACKEND-*.log. XENOPS_LAB=skip skips it.
"""

import json
import os
import time

import pytest

import labkit

labkit.skip_unless_enabled()

RUN_DIR = os.path.join(labkit.REPO, ".tmp", "lab-network")
LAB = labkit.Lab(run_dir=RUN_DIR)
ROLLBACK = 150
CONNECT = 60
must = labkit.must


def ssh(cmd, timeout=300):
    return LAB.must(cmd, timeout=timeout)


INTERFACES = """\
# as Debian's installer writes it
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback

allow-hotplug eth0
iface eth0 inet dhcp
"""


def use_ifupdown():
    """Make the lab host an ifupdown host, as a Debian install is, and reboot it."""
    ssh("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
        "ifupdown isc-dhcp-client", timeout=1800)
    LAB.must("cat > /etc/network/interfaces", input=INTERFACES.encode())
    ssh("systemctl disable -q systemd-networkd.service systemd-networkd.socket && rm -f /etc/systemd/network/*")
    must(LAB.lab("reboot", LAB.host, timeout=1200), "reboot with ifupdown")
    assert ssh("systemctl is-active systemd-networkd.service || true").strip() != "active"
    assert "10.0.2.15/24" in _addresses("eth0")
    ssh("pgrep -x dhclient")


@pytest.fixture(params=["systemd-networkd", "ifupdown"])
def lab_host(request):
    os.makedirs(RUN_DIR, exist_ok=True)
    labkit.ensure_collection()
    LAB.lab("down", "--wipe")
    t0 = time.time()
    must(LAB.lab("up", "--hosts", "1"), "lab up")
    inventory = LAB.inventory(os.path.join(RUN_DIR, "inventory.yml"))
    if request.param == "ifupdown":
        use_ifupdown()
    yield {"inventory": inventory, "up_seconds": time.time() - t0, "backend": request.param}
    LAB.lab("down", "--wipe")


def network_role(lab_host, bridges, step):
    """Run only roles/network on the lab host; return (rc, output, seconds)."""
    playbook = os.path.join(RUN_DIR, "network.yml")
    with open(playbook, "w") as fh:
        fh.write("- name: Network\n  hosts: xen_hosts\n  roles:\n    - role: xenops.xen.network\n")
    extra = {"network_backend": lab_host["backend"], "network_bridges": bridges,
             "network_rollback_timeout": ROLLBACK, "network_connect_timeout": CONNECT}
    t0 = time.time()
    rc, out = LAB.playbook(lab_host["inventory"], playbook, "-e", json.dumps(extra), timeout=1800)
    seconds = time.time() - t0
    with open(os.path.join(RUN_DIR, "play-%s-%s.log" % (lab_host["backend"], step)), "w") as fh:
        fh.write(out)
    return rc, out, seconds


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
    timings = {"up_seconds": lab_host["up_seconds"]}
    rc, out, timings["apply_seconds"] = network_role(lab_host, GOOD, "1-apply")
    assert rc == 0, out[-4000:]
    assert "changed=0" not in out, out[-4000:]
    assert "10.0.2.15/24" in _addresses("xenbr9")
    assert _addresses("eth0") == []
    eth0 = json.loads(ssh("ip -json link show dev eth0"))[0]
    assert eth0.get("master") == "xenbr9"
    # the bridge carries eth0's MAC address: QEMU's DHCP server hands out the same lease
    assert json.loads(ssh("ip -json link show dev xenbr9"))[0]["address"] == eth0["address"]
    vlan = json.loads(ssh("ip -json -d link show dev xenbr8.108"))[0]
    assert vlan["linkinfo"]["info_kind"] == "vlan"
    assert vlan.get("master") == "xenbr108"
    assert ssh("systemctl list-timers --all --no-legend xenops-network-rollback.timer | wc -l").strip() == "0"

    rc, out, timings["rerun_seconds"] = network_role(lab_host, GOOD, "2-rerun")
    assert rc == 0, out[-4000:]
    assert "changed=0" in out, out[-4000:]

    rc, out, timings["bad_change_seconds"] = network_role(lab_host, BAD, "3-bad-change")
    assert rc != 0, out[-4000:]
    assert "cut the host off" in out, out[-4000:]
    assert "rollback timer restored the previous configuration" in out
    # back to the good configuration
    assert "10.0.2.15/24" in _addresses("xenbr9")
    assert "10.0.2.99/24" not in _addresses("xenbr9")
    if lab_host["backend"] == "ifupdown":
        assert "address 10.0.2.99/24" not in ssh("cat /etc/network/interfaces.d/xenops-xenbr9")
        assert "inet dhcp" in ssh("cat /etc/network/interfaces.d/xenops-xenbr9")
        # the NIC's own stanza stays commented out: it is a port of xenbr9
        assert not [line for line in ssh("cat /etc/network/interfaces").splitlines() if line.startswith("iface eth0")]
    else:
        assert "Address=10.0.2.99/24" not in ssh("cat /etc/systemd/network/05-xenops-xenbr9.network")
    assert ssh("cat /var/lib/xenops-xen/network/rolled-back").strip().isdigit()
    assert ssh("systemctl list-timers --all --no-legend xenops-network-rollback.timer | wc -l").strip() == "0"

    with open(os.path.join(RUN_DIR, "timings-%s.json" % lab_host["backend"]), "w") as fh:
        json.dump({k: round(v) for k, v in timings.items()}, fh, indent=2)
    print("%s timings: %s" % (lab_host["backend"], {k: round(v) for k, v in timings.items()}))
