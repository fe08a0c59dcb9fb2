// The built-in English sample make_small_bpe_vocab learns its merges from: plain prose
// with contractions, numbers, punctuation, a little code and a few blank lines, so the
// learned tokens look like those of a real vocabulary. Written for archscope.
#include "archscope/tokenizer.h"

namespace archscope {

const std::string& builtin_training_text() {
  static const std::string text = R"(The Lighthouse Keeper's Notebook

Monday. The wind came from the north all day, and the sea was the colour of old iron. I walked
down to the harbour in the morning to see whether the supply boat had come in. It hadn't. The
harbour master said it would be here on Wednesday if the weather held, and on Friday if it
didn't. He says that every week, and every week he is right about one of the two days.

I've been keeping this notebook for three years now. My predecessor kept one for thirty-one
years, and his notebooks fill a whole shelf in the store room. He wrote down the weather, the
ships he saw, the birds, the state of the lamp and the price of paraffin. I read them on long
evenings. They're not exciting, but they are honest, and there is a kind of comfort in knowing
that someone else sat at this same table and watched the same light turn around and around.

Tuesday. Rain in the morning, then a clear afternoon. I counted 14 gannets on the rocks below
the tower and 2 seals in the cove. The lamp needed a new wick; I fitted it at 4:30 and tested
it at dusk. The light is visible for 18 nautical miles on a clear night, which means that a ship
20 miles out cannot see us at all, and a ship 10 miles out sees us every 15 seconds.

People ask me what I do all day. The answer is that I look after things. I clean the lens, I
wind the clockwork, I check the fuel, I paint whatever the salt has eaten, and I write down what
I see. It's a small life, but it's not an empty one. You would be surprised how much there is to
notice when you have the time to notice it.

Wednesday. The boat came! It brought flour, tea, two sacks of potatoes, the post, a new pair of
boots and a box of books from my sister. She sends me novels she has finished with, and she
writes her opinions in the margins, so reading them is like having a conversation with her. In
this box: a detective story, a history of the railways, and a cookery book with the note "You
can't live on soup forever, whatever you think."

She is right, of course. I have been living on soup. Tonight I will try the recipe on page 112:
bread made with beer and a little honey. It says to knead the dough for ten minutes, let it rise
for an hour, shape it, let it rise again, and bake it in a hot oven for forty minutes.

Thursday. The bread was a success, more or less. The crust was too dark on one side because the
oven is hotter at the back, so next time I'll turn the loaf halfway through. I ate half of it
with butter and the rest with the last of the cheese.

A fishing boat passed close to the rocks this afternoon, closer than I'd like. I watched it with
the glass until it was clear of the reef. The skipper waved. I don't think he knew how near he
came. The chart shows the reef running 300 metres further out than it looks from the water, and
at low tide the current pulls towards it.

Friday. Fog. When the fog comes, the light is no use and the horn does the work. It sounds every
30 seconds: two blasts, one long and one short. After a few hours you stop hearing it, and then
when it stops you wake up, because the silence is louder than the noise.

I spent the day repairing the chart table and reading the history of the railways. Did you know
that before the railways every town kept its own time? Noon was when the sun was highest, so the
clocks in a town to the west ran a few minutes behind the clocks in a town to the east. The
railways needed timetables, timetables needed one time, and so the whole country agreed to set
its clocks by the same standard. We take it for granted now.

Saturday. Clear and cold. I climbed the 117 steps to the lamp room nine times today, which is a
record I'm not proud of. Every time I reached the top I remembered something I'd left at the
bottom. My predecessor wrote, in 1962: "Make a list before you climb." Good advice then, good
advice now.

Here is today's list, for the record:
- oil for the clockwork
- a clean cloth for the lens
- the logbook and a pencil
- a flask of tea

Sunday. A quiet day. I wrote letters, mended a sweater and walked around the island, which takes
about an hour if you stop to look at things and forty minutes if you don't. The wind has turned
to the south-west, and the barometer is falling: 1012, 1008, 1003. There'll be a storm by
Tuesday, I think, and the boat won't come next week.

If you are reading this, whoever you are, I hope the light is still turning. It doesn't need
much: a little oil, a clean lens, someone to notice when something is wrong. That's true of most
things worth keeping.

A note on the logbook format, since the next keeper will want to know:

    date       wind   sea       visibility  remarks
    Mon 3rd    N 5    rough     good        no boat
    Tue 4th    NW 3   moderate  good        new wick, 14 gannets
    Wed 5th    W 2    slight    very good   boat arrived at 11:20

def log_entry(day, wind, sea, visibility, remarks):
    """Return one line of the logbook, padded to fixed columns."""
    return f"{day:<10} {wind:<6} {sea:<9} {visibility:<11} {remarks}"

The numbers matter less than the habit. Write something every day, even if it is only "nothing
to report". The day you skip is the day something happens, and then there is a hole in the
record where the most important page should be.
)";
  return text;
}

}  // namespace archscope
