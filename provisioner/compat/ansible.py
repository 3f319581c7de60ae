"""The Ansible side of docs/ansible-compatibility.md: the names of ansible-core 2.16's
playbook language, from its documentation (playbook keywords, special variables, the
ansible.builtin plugin indexes, the setup module's facts) and Jinja2 3.1's.

Names only, each a fact about Ansible; whether provision has one is read from the
code's registries (`provisioner.compat` derives it), never written here. Modules are
in `provisioner/modules/ansible_modules.py`, since module names are written nowhere
outside modules/.
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(sorted(set(text.split())))


PLAY_KEYWORDS = _words(
    """
    any_errors_fatal become become_exe become_flags become_method become_user check_mode
    collections connection debugger diff environment fact_path force_handlers gather_facts
    gather_subset gather_timeout handlers hosts ignore_errors ignore_unreachable
    max_fail_percentage module_defaults name no_log order port post_tasks pre_tasks
    remote_user roles run_once serial strategy tags tasks throttle timeout vars vars_files
    vars_prompt
    """
)

# The keywords a role takes where a play names it (`role:` is its name).
ROLE_KEYWORDS = _words(
    """
    any_errors_fatal become become_exe become_flags become_method become_user check_mode
    collections connection debugger delegate_facts delegate_to diff environment
    ignore_errors ignore_unreachable module_defaults name no_log port remote_user role
    run_once tags throttle timeout vars when
    """
)

BLOCK_KEYWORDS = _words(
    """
    always any_errors_fatal become become_exe become_flags become_method become_user block
    check_mode collections connection debugger delegate_facts delegate_to diff environment
    ignore_errors ignore_unreachable module_defaults name no_log notify port remote_user
    rescue run_once tags throttle timeout vars when
    """
)

LOOKUPS = _words(
    """
    config csvfile dict env file fileglob first_found indexed_items ini inventory_hostnames
    items lines list nested password pipe random_choice sequence subelements template
    together unvault url varnames vars
    """
)

# `with_<lookup>` works with any lookup: the builtin ones, and two of community.general
# that older playbooks use.
WITH_KEYWORDS = tuple(f"with_{name}" for name in sorted({*LOOKUPS, "cartesian", "flattened"}))

# A task's keywords (`listen` is a handler's), then with the `with_<lookup>` loops.
PLAIN_TASK_KEYWORDS = _words(
    """
    action any_errors_fatal args async become become_exe become_flags become_method
    become_user changed_when check_mode collections connection debugger delay
    delegate_facts delegate_to diff environment failed_when ignore_errors
    ignore_unreachable listen local_action loop loop_control module_defaults name no_log
    notify poll port register remote_user retries run_once tags throttle timeout until
    vars when
    """
)
TASK_KEYWORDS = tuple(sorted({*PLAIN_TASK_KEYWORDS, *WITH_KEYWORDS}))

# What an include_tasks, import_tasks, include_role or import_role entry may carry: a
# task's keywords (of the loops, `with_items`), and include_*'s `apply`.
INCLUDE_KEYWORDS = tuple(sorted({*PLAIN_TASK_KEYWORDS, "with_items", "apply"}))

# The options of include_role and import_role (beside their `name`).
ROLE_OPTIONS = _words(
    "allow_duplicates defaults_from handlers_from name public rolespec_validate tasks_from "
    "vars_from"
)

# Ansible's task entries that are not modules to provision's loader.
ENTRIES = _words("import_playbook import_role import_tasks include_role include_tasks")

ANSIBLE_FILTERS = _words(
    """
    b64decode b64encode basename bool checksum combinations combine comment commonpath
    dict2items difference dirname expanduser expandvars extract fileglob flatten from_json
    from_yaml from_yaml_all hash human_readable human_to_bytes intersect items2dict log
    mandatory md5 normpath password_hash path_join permutations pow product quote random
    realpath regex_escape regex_findall regex_replace regex_search rekey_on_member relpath
    root sha1 shuffle split splitext strftime subelements symmetric_difference ternary
    to_datetime to_json to_nice_json to_nice_yaml to_uuid to_yaml type_debug union unique
    unvault urldecode urlsplit vault win_basename win_dirname win_splitdrive zip zip_longest
    """
)

# Jinja2 3.1's own filters, which Ansible's templates have too.
JINJA_FILTERS = _words(
    """
    abs attr batch capitalize center count d default dictsort e escape filesizeformat first
    float forceescape format groupby indent int items join last length list lower map max
    min pprint random reject rejectattr replace reverse round safe select selectattr slice
    sort string striptags sum title tojson trim truncate unique upper urlencode urlize
    wordcount wordwrap xmlattr
    """
)

ANSIBLE_TESTS = _words(
    """
    abs all any change changed contains directory exists failed failure falsy file finished
    is_abs is_dir is_file is_link is_mount is_same_file isnan issubset issuperset link
    link_exists match mount nan reachable regex same_file search skip skipped started
    subset succeeded success successful superset truthy unreachable uri url urn
    vault_encrypted version version_compare
    """
)

JINJA_TESTS = _words(
    """
    != < <= == > >= boolean callable defined divisibleby eq equalto escaped even false
    filter float ge greaterthan gt in integer iterable le lessthan lower lt mapping ne none
    number odd sameas sequence string test true undefined upper
    """
)

# The special variables Ansible sets itself (its "magic" variables; `ansible_failed_*`
# in a rescue, `ansible_managed` for templates).
MAGIC_VARIABLES = _words(
    """
    ansible_check_mode ansible_collection_name ansible_config_file
    ansible_dependent_role_names ansible_diff_mode ansible_failed_result
    ansible_failed_task ansible_forks ansible_index_var ansible_inventory_sources
    ansible_limit ansible_loop ansible_loop_var ansible_managed ansible_parent_role_names
    ansible_parent_role_paths ansible_play_batch ansible_play_hosts ansible_play_hosts_all
    ansible_play_name ansible_play_role_names ansible_playbook_python ansible_role_name
    ansible_role_names ansible_run_tags ansible_search_path ansible_skip_tags
    ansible_verbosity ansible_version group_names groups hostvars inventory_dir
    inventory_file inventory_hostname inventory_hostname_short omit play_hosts playbook_dir
    role_name role_names role_path
    """
)

# The facts Ansible's setup module gathers on Linux (names in `ansible_facts`; each is
# also `ansible_<name>`). `<interface>` stands for the per-interface facts (eth0, ...).
FACTS = _words(
    """
    <interface> all_ipv4_addresses all_ipv6_addresses apparmor architecture bios_date
    bios_vendor bios_version board_asset_tag board_name board_serial board_vendor
    board_version chassis_asset_tag chassis_serial chassis_vendor chassis_version cmdline
    date_time default_ipv4 default_ipv6 device_links devices distribution
    distribution_file_parsed distribution_file_path distribution_file_variety
    distribution_major_version distribution_release distribution_version dns domain
    effective_group_id effective_user_id env fibre_channel_wwn fips form_factor fqdn
    hostname hostnqn interfaces is_chroot iscsi_iqn kernel kernel_version loadavg local
    lsb lvm machine machine_id memfree_mb memory_mb memtotal_mb mounts nodename os_family
    pkg_mgr proc_cmdline processor processor_cores processor_count processor_nproc
    processor_threads_per_core processor_vcpus product_name product_serial product_uuid
    product_version python python_version real_group_id real_user_id selinux
    selinux_python_present service_mgr ssh_host_key_ecdsa_public
    ssh_host_key_ed25519_public ssh_host_key_rsa_public swapfree_mb swaptotal_mb system
    system_capabilities system_capabilities_enforced system_vendor uptime_seconds user_dir
    user_gecos user_gid user_id user_shell user_uid userspace_architecture userspace_bits
    virtualization_role virtualization_tech_guest virtualization_tech_host
    virtualization_type
    """
)
