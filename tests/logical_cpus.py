"""``python tests/logical_cpus.py N ARGS...``: runs ``rnnzoo ARGS`` in a process whose CPU is
split into N logical devices (what MirroredStrategy replicates over in the tf.distribute
tests)."""

import sys

import tensorflow as tf

count = int(sys.argv[1])
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)

from rnnzoo.cli import main  # noqa: E402

main(sys.argv[2:], prog_name="rnnzoo")
