-- 0008_system_accounts: the practice's system account (0006) is enabled
-- like any owner, so its links and shares follow the ordinary owner rules
-- instead of a special case.  It still cannot sign in: login lookups,
-- sessions and app passwords refuse system accounts (lib/auth), and
-- account management cannot see them (lib/account).
UPDATE users SET enabled = true WHERE system;
