"""The public side for citizens and companies (网上办事大厅): sign-in with a one-time code, my
space (licences, applications, notices), who used my data, and proactive services."""
