import streamlit as st

st.title("Tag review")
st.info("This page is being built.")
