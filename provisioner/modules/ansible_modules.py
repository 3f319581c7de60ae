"""The Ansible side of docs/ansible-compatibility.md's module table: the modules of
ansible-core 2.16 (`ansible.builtin`) and the collection modules playbooks commonly
write by their short name. Names only; whether provision has each is read from the
registry (`provisioner.compat` derives it), never written here.

Kept in `modules/` since module names are written nowhere else (tests/unit/test_house.py).
"""

from __future__ import annotations

# ansible.builtin in ansible-core 2.16, but the include/import entries (include_tasks,
# import_role, ...), which the playbook loader handles.
ANSIBLE_BUILTIN = """
    add_host apt apt_key apt_repository assemble assert async_status blockinfile command
    copy cron deb822_repository debconf debug dnf dnf5 dpkg_selections expect fail fetch
    file find gather_facts get_url getent git group group_by hostname include_vars
    iptables known_hosts lineinfile meta package package_facts pause ping pip raw reboot
    replace rpm_key script service service_facts set_fact set_stats setup shell slurp
    stat subversion systemd systemd_service sysvinit tempfile template unarchive uri user
    validate_argument_spec wait_for wait_for_connection yum yum_repository
""".split()

# Collection modules (ansible.posix, community.general, community.docker, ...) that
# playbooks name without their collection.
COLLECTION_MODULES = """
    alternatives archive authorized_key composer docker_container docker_image
    filesystem firewalld flatpak gem homebrew htpasswd ini_file locale_gen lvg lvol make
    modprobe mount mysql_db mysql_user npm openbsd_pkg pacman parted pkgng portage
    postgresql_db postgresql_user seboolean sefcontext selinux snap synchronize sysctl
    timezone ufw xml zypper zypper_repository apk
""".split()

ANSIBLE_MODULES: tuple[str, ...] = tuple(sorted({*ANSIBLE_BUILTIN, *COLLECTION_MODULES}))
