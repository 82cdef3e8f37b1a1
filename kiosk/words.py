"""Words for older pupils: on a secondary-school tablet the kiosk says "staff", not "grown-ups".

The pages, fields and pictures are the same for both age groups; only these messages change. Each
pair is (words for primary pupils, words for 11 to 18 year olds); both are translated like any other.
"""

from flask import g

from worrybox.languages import N_

SECONDARY_WORDS = {
    N_("If someone is not safe, the grown-ups here will tell the people who keep children safe."):
        N_("If someone is not safe, staff here will tell the people who keep young people safe."),
    N_("The %(scheme)s tell a grown-up too."): N_("The %(scheme)s tell a member of staff too."),
    N_("The grown-ups who keep children safe at %(school)s read every worry."):
        N_("The staff who keep young people safe at %(school)s read every worry."),
    N_("Do you want to check later if a grown-up has read it?"):
        N_("Do you want to check later if staff have read it?"),
    N_("You can send a worry without your name: then the grown-ups will not know who wrote it. "
       "To put your name on it, choose your class:"):
        N_("You can send this without your name: then staff will not know who wrote it. "
           "To add your name, choose your class or form group:"),
    N_("A grown-up who keeps children safe at %(school)s will be told now. If you are in danger, go to the "
       "nearest grown-up straight away."):
        N_("A member of staff who keeps young people safe at %(school)s will be told now. If you are in danger, "
           "go to the nearest member of staff straight away."),
    N_("The grown-ups who keep children safe at %(school)s (the safeguarding team) will read your worry."):
        N_("The staff who keep young people safe at %(school)s (the safeguarding team) will read what you sent."),
    N_("You did not put your name on it, so they will not know who wrote it. If they think a child is not "
       "safe, they will still try to help."):
        N_("You did not put your name on it, so staff will not know who wrote it. If they think someone is not "
           "safe, they will still try to help."),
    N_("The worry box is resting. Please tell a grown-up you trust, or call Childline free on %(number)s."):
        N_("The worry box is resting. Please talk to a member of staff you trust, or call Childline free on "
           "%(number)s."),
    N_("You will see if a grown-up has read your worry, and any message they left for you."):
        N_("You will see if staff have read your worry, and any message they left for you."),
    N_("There are no chats you can book this week. You can tell us your worry instead, or talk to a grown-up."):
        N_("There are no chats you can book this week. You can tell us your worry instead, or talk to a member "
           "of staff."),
    N_("If you are in danger, tell the nearest grown-up straight away. Press the red button and a grown-up who "
       "keeps children safe will be told."):
        N_("If you are in danger, tell the nearest member of staff straight away. Press the red button and a "
           "member of staff who keeps young people safe will be told."),
    N_("No %(scheme)s can sign in yet. Ask the grown-up who looks after the %(scheme)s for a PIN."):
        N_("No %(scheme)s can sign in yet. Ask the member of staff who looks after the %(scheme)s for a PIN."),
    N_("If something is very wrong, tell a grown-up straight away. Childline is free on %(number)s."):
        N_("If something is very wrong, tell a member of staff straight away. Childline is free on %(number)s."),
    N_("A grown-up at school"): N_("A member of staff"),
    N_("A grown-up who can help"): N_("A member of staff who can help"),
    N_("A grown-up has read your worry."): N_("A member of staff has read your worry."),
    N_("A grown-up will come and find you today."): N_("A member of staff will come and find you today."),
    N_("Nothing you did caused this. Please try again, or tell a grown-up."):
        N_("Nothing you did caused this. Please try again, or tell a member of staff."),
    N_("Please try again soon, or tell a grown-up."): N_("Please try again soon, or tell a member of staff."),
    N_("I know a grown-up I can tell"): N_("I know a member of staff I can tell"),
    N_("Grown-ups listen to me"): N_("Staff listen to me"),
    N_("They help the grown-ups make school safer."): N_("They help staff make school safer."),
}


def for_age(message: str) -> str:
    """The message to translate for this tablet's age group."""
    if g and g.get("age_group") == "secondary":
        return SECONDARY_WORDS.get(message, message)
    return message
