"""Small helpers shared by several apps (agencies, referrals, meetings, notifications).

Apps depend downward on this package only; it imports none of them.
"""
