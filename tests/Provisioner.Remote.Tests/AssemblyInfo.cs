// These tests run POSIX shells, ssh-keygen and sshd, and check Unix file modes: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
