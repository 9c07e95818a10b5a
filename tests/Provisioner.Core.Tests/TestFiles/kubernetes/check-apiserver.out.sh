#!/bin/sh
# Managed by provisioner: is the local API server live? Anonymous requests may reach /livez only
# (authentication configuration), so no credential is needed or present here.
exec curl --silent --fail --max-time 2 --cacert /etc/kubernetes/pki/ca.crt --output /dev/null https://127.0.0.1:6443/livez
